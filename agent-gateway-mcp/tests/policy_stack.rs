//! The MCP front with the real policy layers (auth, authorize) written once against core's
//! seam, over a federation: who may call what, listings filtered per caller, denials on the
//! wire, and the client's credential never reaching an upstream.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use agent_gateway_core::Secret;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

const ALICE: &str = "sk-alice-0123456789";
const BOB: &str = "sk-bob-0123456789ab";

#[tokio::test]
async fn auth_and_authorize_over_a_federation() {
    // The upstream's HTTP side records the Authorization headers it receives.
    let fs = FakeMcpServer::new()
        .with_echo_tool("read")
        .with_echo_tool("delete");
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let record = seen.clone();
    let fs_http = fs.http(McpFrontConfig::new("fs", "1").unwrap());
    let recording = tower::service_fn(move |req: http::Request<Full<Bytes>>| {
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        record.lock().unwrap().push(auth);
        fs_http.clone().oneshot(req)
    });
    let upstream = HttpUpstream::new(recording, "http://fs.test/mcp".parse().unwrap())
        .with_authorization(Secret::new(HeaderValue::from_static(
            "Bearer upstream-own-token",
        )));
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fs").unwrap(), upstream))
        .build()
        .unwrap();

    let keys = ApiKeys::new()
        .with_key(
            Secret::new(ALICE.to_owned()),
            Principal::new("alice").with_role("admin"),
        )
        .with_key(
            Secret::new(BOB.to_owned()),
            Principal::new("bob").with_role("reader"),
        );
    let rules = Rules::new()
        .allow(
            "anyone-lists",
            r#"action in ["list_tools", "protocol", "discovery"]"#,
        )
        .allow_targets("anyone-reads", ["fs__read"])
        .allow("admins-all", r#""admin" in caller.roles"#)
        .compile()
        .unwrap();
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .layer(AuthorizeLayer::new(rules))
        .service(fed);
    let gateway = McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap());

    let names = |tools: Vec<Value>| -> Vec<String> {
        tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for era in ["modern", "legacy"] {
        let client = |key: &str| {
            let c = if era == "modern" {
                McpClient::modern(gateway.clone())
            } else {
                McpClient::legacy(gateway.clone())
            };
            c.with_bearer(key)
        };
        let (alice, bob) = (client(ALICE), client(BOB));
        assert_eq!(
            names(alice.list_tools().await.unwrap()),
            ["fs__read", "fs__delete"],
            "{era}"
        );
        // Bob's listing is filtered through McpResponse::retain_items.
        assert_eq!(
            names(bob.list_tools().await.unwrap()),
            ["fs__read"],
            "{era}"
        );
        bob.call_tool("fs__read", json!({})).await.unwrap();
        let err = bob.call_tool("fs__delete", json!({})).await.unwrap_err();
        assert_eq!(err.code(), Some(-32003), "{era}: forbidden");
        alice.call_tool("fs__delete", json!({})).await.unwrap();
    }
    assert_eq!(
        fs.calls_of("tools/call"),
        4,
        "bob's delete never reached the upstream"
    );

    // No credential, or a wrong one: 401 with -32001, before anything else runs.
    let mut front = gateway.clone();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    for auth in [None, Some("Bearer sk-mallory-000000000")] {
        let body =
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": meta}});
        let mut req = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let res = front.call(req).await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], -32001);
        assert_eq!(body["id"], 9);
    }

    // The methods the front answers itself are governed too: no credential, no session.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    let discover =
        json!({"jsonrpc": "2.0", "id": 2, "method": "server/discover", "params": {"_meta": meta}});
    for (body, method) in [(init, "initialize"), (discover, "server/discover")] {
        let req = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header(
                "mcp-protocol-version",
                if method == "initialize" {
                    "2025-11-25"
                } else {
                    "2026-07-28"
                },
            )
            .header("mcp-method", method)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let res = front.call(req).await.unwrap();
        assert_eq!(res.status(), 401, "{method}");
        assert!(res.headers().get("mcp-session-id").is_none());
    }

    // Every request the upstream saw carried the upstream's own credential, never a client's.
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|a| a.as_deref() == Some("Bearer upstream-own-token")),
        "{seen:?}"
    );
}
