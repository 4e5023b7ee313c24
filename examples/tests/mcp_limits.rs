//! `[mcp.limits]` reaches the runnable gateway's MCP front (#12): with the demo caller's share
//! of ended sessions set to one, its second DELETE is refused (503) rather than a session
//! forgotten as ended; with the defaults, it is not.

#![allow(clippy::unwrap_used, reason = "test code")]

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use serde_json::json;

const AUTH: &str = "Bearer agw-demo-key";
/// The gateway listens on loopback, so the MCP front checks `Host`.
const HOST: &str = "127.0.0.1:8080";

async fn client(limits: &str) -> TestClient<axum::Router> {
    let config = Config::from_toml_str(&format!("{EMBEDDED_DEFAULT}\n{limits}")).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

/// Opens a legacy session as the demo caller.
async fn open(client: &TestClient<axum::Router>) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = client
        .post("/mcp")
        .header("host", HOST)
        .header("authorization", AUTH)
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.header("mcp-session-id").unwrap().to_owned()
}

/// Ends `session`: the status and the body.
async fn end(client: &TestClient<axum::Router>, session: &str) -> (u16, String) {
    let res = client
        .delete("/mcp")
        .header("host", HOST)
        .header("authorization", AUTH)
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await;
    (res.status().as_u16(), res.text().to_owned())
}

#[tokio::test]
async fn the_configured_share_of_ended_sessions_binds_the_gateways_front() {
    let limited = client("[mcp.limits]\nended_sessions = 4\nended_sessions_per_caller = 1\n").await;
    let (first, second) = (open(&limited).await, open(&limited).await);
    assert_eq!(end(&limited, &first).await.0, 200);
    let (status, body) = end(&limited, &second).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("too many sessions ended"), "{body}");

    // The defaults leave room for both.
    let defaults = client("").await;
    let (first, second) = (open(&defaults).await, open(&defaults).await);
    assert_eq!(end(&defaults, &first).await.0, 200);
    assert_eq!(end(&defaults, &second).await.0, 200);
}
