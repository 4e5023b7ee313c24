//! Listings through a federation are made with the client's capabilities: an upstream that
//! shows a tool only to clients able to serve it (one declaring `roots`, say) shows it to such
//! a client through the gateway, and not to another (issue #13 item 8). Both client eras, raw
//! on the wire, in-process.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::BoxError;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use serde_json::{Value, json};

const MODERN: &str = "2026-07-28";

fn front() -> McpFront<Federation> {
    // Lists `always`, and `roots-only` to a client that declared roots, as server-everything
    // does with its roots tool.
    let upstream = tower::service_fn(|req: UpstreamRequest| async move {
        let mut tools = vec![json!({"name": "always", "inputSchema": {"type": "object"}})];
        if req.client().is_some_and(|c| c.declares("roots")) {
            tools.push(json!({"name": "roots-only", "inputSchema": {"type": "object"}}));
        }
        let result = json!({"tools": tools});
        Ok::<_, BoxError>(result.as_object().cloned().unwrap_or_default())
    });
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("up").unwrap(), upstream))
        .member(Member::new(
            ServerName::new("other").unwrap(),
            FakeMcpServer::new(),
        ))
        .build()
        .unwrap();
    McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap())
}

fn names(listing: &Value) -> Vec<&str> {
    listing["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("a listing: {listing}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

async fn modern_list(front: &McpFront<Federation>, capabilities: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities}}});
    TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/list")
        .json(&body)
        .send()
        .await
        .json()
}

async fn legacy_list(front: &McpFront<Federation>, capabilities: Value) -> Value {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-11-25", "capabilities": capabilities,
                                 "clientInfo": {"name": "t", "version": "1"}}});
    let res = TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let session = res.header("mcp-session-id").unwrap().to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .json()
}

#[tokio::test]
async fn a_client_declaring_roots_sees_the_tool_shown_only_to_such_clients() {
    let front = front();
    let with = json!({"roots": {"listChanged": true}});
    assert_eq!(
        names(&modern_list(&front, with.clone()).await),
        ["up__always", "up__roots-only"]
    );
    assert_eq!(names(&modern_list(&front, json!({})).await), ["up__always"]);
    assert_eq!(
        names(&legacy_list(&front, with).await),
        ["up__always", "up__roots-only"]
    );
    assert_eq!(names(&legacy_list(&front, json!({})).await), ["up__always"]);
}
