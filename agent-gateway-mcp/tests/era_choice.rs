//! Which era the gateway speaks to an HTTP upstream for a client: a legacy client in front of
//! an upstream that serves both eras is served in the legacy era, on an upstream session of
//! its own (so that the upstream's requests to it reach it); a modern client, an upstream that
//! serves only the modern era, or an upstream pinned to an era keep the upstream's era, with
//! era translation where the client speaks the other one.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig, McpRequest, McpResponse};
use serde_json::{Value, json};

/// The era each call reached the upstream in, in order.
type Seen = Arc<Mutex<Vec<Era>>>;

type Inner = tower::util::BoxCloneSyncService<McpRequest, McpResponse, BoxError>;

/// An upstream front (both eras unless `modern_only`) recording the era of each tool call.
fn upstream(modern_only: bool) -> (McpFront<Inner>, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let inner = tower::service_fn(move |req: McpRequest| {
        let modern = req
            .params()
            .get("_meta")
            .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
            .is_some();
        if req.method().as_str() == "tools/call" {
            record
                .lock()
                .unwrap()
                .push(if modern { Era::Modern } else { Era::Legacy });
        }
        async move {
            Ok::<_, BoxError>(McpResponse::for_method(
                req.method(),
                json!({"content": [{"type": "text", "text": "ok"}]}),
            ))
        }
    });
    let config = McpFrontConfig::new("up", "1")
        .unwrap()
        .with_legacy(!modern_only);
    (McpFront::new(Inner::new(inner), config), seen)
}

fn seen(s: &Seen) -> Vec<Era> {
    s.lock().unwrap().clone()
}

#[tokio::test]
async fn a_legacy_client_gets_a_legacy_session_of_its_own_on_a_dual_era_upstream() {
    let (up, calls) = upstream(false);
    let http = HttpUpstream::new(up, "http://up.test/mcp".parse().unwrap());
    let gateway = McpFront::new(
        Direct::new(http.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    // A modern client first: the upstream's era is probed as modern.
    let modern = McpClient::modern(gateway.clone());
    modern.call_tool("t", json!({})).await.unwrap();
    assert_eq!(http.era().await, Some(Era::Modern));
    assert_eq!(http.open_sessions().await, 0);
    // Two legacy clients: each gets its own legacy upstream session.
    for _ in 0..2 {
        let legacy = McpClient::legacy(gateway.clone());
        let result = legacy.call_tool("t", json!({})).await.unwrap();
        assert_eq!(result["content"][0]["text"], "ok");
        legacy.call_tool("t", json!({})).await.unwrap();
    }
    assert_eq!(http.open_sessions().await, 2);
    modern.call_tool("t", json!({})).await.unwrap();
    assert_eq!(
        seen(&calls),
        [
            Era::Modern,
            Era::Legacy,
            Era::Legacy,
            Era::Legacy,
            Era::Legacy,
            Era::Modern
        ]
    );
    assert_eq!(http.open_sessions().await, 2, "a modern client opens none");
}

#[tokio::test]
async fn a_legacy_client_is_translated_to_a_modern_only_upstream() {
    let (up, calls) = upstream(true);
    let http = HttpUpstream::new(up, "http://up.test/mcp".parse().unwrap());
    let gateway = McpFront::new(
        Direct::new(http.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    for _ in 0..2 {
        let legacy = McpClient::legacy(gateway.clone());
        let result = legacy.call_tool("t", json!({})).await.unwrap();
        assert_eq!(result["content"][0]["text"], Value::from("ok"));
    }
    assert_eq!(seen(&calls), [Era::Modern, Era::Modern]);
    assert_eq!(http.open_sessions().await, 0);
    assert_eq!(http.era().await, Some(Era::Modern));
}

#[tokio::test]
async fn an_upstream_pinned_to_the_modern_era_is_spoken_to_in_it() {
    let (up, calls) = upstream(false);
    let http = HttpUpstream::new(up, "http://up.test/mcp".parse().unwrap()).with_era(Era::Modern);
    let gateway = McpFront::new(
        Direct::new(http.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let legacy = McpClient::legacy(gateway);
    legacy.call_tool("t", json!({})).await.unwrap();
    assert_eq!(seen(&calls), [Era::Modern]);
    assert_eq!(http.open_sessions().await, 0);
}
