//! The run's signed remainder (`agw-run-budget`) reaches an MCP upstream served in the legacy
//! (2025-11-25) era: a legacy client calls through the gateway (run layer, federation) to an
//! HTTP upstream that speaks only the legacy era. Each tool call reaches the upstream with a
//! header the gateway's key verifies, naming the run, depth 1 and the tool calls left after
//! that call; the client's credential never reaches the upstream.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use agent_gateway_core::Secret;
use agent_gateway_core::run::{RUN_BUDGET_HEADER, RUN_ID_HEADER};
use agent_gateway_core::store::MemoryStore;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig};
use agent_gateway_policy::run::{HopKey, HopKeys, RunLayer, RunLimits};
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

fn keys() -> HopKeys {
    HopKeys::new(HopKey::new("k1", Secret::new(vec![7; 32])).unwrap())
}

#[tokio::test]
async fn a_legacy_upstream_gets_the_signed_remainder_and_never_the_client_credential() {
    let server = FakeMcpServer::new().with_echo_tool("read");
    let legacy_only = server.http(McpFrontConfig::new("fs", "1").unwrap().with_modern(false));
    // The headers of every request the upstream receives.
    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let log = seen.clone();
    let upstream = ServiceBuilder::new()
        .map_request(
            move |req: http::Request<http_body_util::Full<bytes::Bytes>>| {
                log.lock().unwrap().push(req.headers().clone());
                req
            },
        )
        .service(legacy_only);
    let http =
        HttpUpstream::new(upstream, "http://fs.test/mcp".parse().unwrap()).with_era(Era::Legacy);
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fs").unwrap(), http.clone()))
        .build()
        .unwrap();
    let runs = RunLayer::new(MemoryStore::new())
        .with_limits(RunLimits::new().with_tool_calls(3))
        .with_keys(keys());
    let stack = ServiceBuilder::new().layer(runs).service(fed);
    let front = McpFront::new(
        BoxCloneSyncService::new(stack),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let front = ServiceBuilder::new()
        .map_request(|mut req: http::Request<_>| {
            req.headers_mut()
                .insert(RUN_ID_HEADER, HeaderValue::from_static("run-legacy"));
            req
        })
        .service(front);
    let client = McpClient::legacy(front).with_bearer("client-secret");

    for n in [1, 2] {
        client.call_tool("fs__read", json!({"n": n})).await.unwrap();
    }
    assert_eq!(http.era().await, Some(Era::Legacy));
    assert_eq!(server.calls_of("tools/call"), 2);

    let seen = seen.lock().unwrap();
    for headers in seen.iter() {
        assert!(headers.get("authorization").is_none(), "{headers:?}");
        assert!(!format!("{headers:?}").contains("client-secret"));
    }
    // The upstream's own handshake and notifications carry no budget: only the steps do.
    let budgets: Vec<&HeaderValue> = seen
        .iter()
        .filter_map(|h| h.get(RUN_BUDGET_HEADER))
        .collect();
    assert_eq!(budgets.len(), 2, "one signed header per tool call");
    for (header, left) in budgets.into_iter().zip([2, 1]) {
        let hop = keys()
            .verify(header.to_str().unwrap(), SystemTime::now())
            .unwrap();
        assert_eq!(hop.run, "run-legacy");
        assert_eq!(hop.depth, 1);
        assert_eq!(
            hop.rem.tool_calls,
            Some(left),
            "the remainder after the call"
        );
    }
}
