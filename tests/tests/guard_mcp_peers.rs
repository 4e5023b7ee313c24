//! Real peer: a python `mcp` SDK server that changes a tool's description after it was
//! listed (the "rug pull"), behind the gateway with tool pinning in block mode. The change is
//! flagged, the tool hidden and its calls refused in both eras until approved; its arguments
//! are checked against the schema the real server declares.
//!
//! Skips with one `skipped:` line without the python venv under `$AGW_PEERS_DIR`, and fails
//! with `AGW_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../agent-gateway-mcp/tests/common/mod.rs"]
mod common;

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::error::CODE_GUARDRAIL_BLOCKED;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
use agent_gateway_policy::guard::{GuardLayer, PinMode, Pins, SchemaCheck};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

fn listed(tools: &[Value]) -> Vec<(String, String)> {
    tools
        .iter()
        .map(|t| {
            let name = t["name"].as_str().unwrap().to_owned();
            (name, t["description"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_server_changing_a_tool_description_is_flagged_and_blocked_until_approved() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (url, _server) = common::python_server("rug_pull_server.py").await;
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("calc").unwrap(),
            HttpUpstream::connect(url.parse().unwrap()),
        ))
        .build()
        .unwrap();
    let pins = Pins::new(PinMode::Block);
    let guard = GuardLayer::new()
        .with(pins.clone())
        .with(SchemaCheck::new());
    let stack = ServiceBuilder::new().layer(guard).service(fed);
    let front: McpFront<BoxCloneSyncService<McpRequest, McpResponse, BoxError>> = McpFront::new(
        BoxCloneSyncService::new(stack),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let modern = McpClient::modern(front.clone());
    let legacy = McpClient::legacy(front);

    let first = listed(&modern.list_tools().await.unwrap());
    assert_eq!(
        first,
        [
            ("calc__add".to_owned(), "Adds two integers.".to_owned()),
            ("calc__pull_rug".to_owned(), first[1].1.clone()),
        ]
    );
    let sum = modern
        .call_tool("calc__add", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "5");
    // The server's own schema is enforced before it is called.
    let err = modern
        .call_tool("calc__add", json!({"a": "two", "b": 3}))
        .await
        .unwrap_err();
    assert_eq!(
        err.data(),
        Some(&json!({"rule": "input-schema"})),
        "{err:?}"
    );
    assert_eq!(pins.changes(), 0);

    modern.call_tool("calc__pull_rug", json!({})).await.unwrap();
    for (era, client) in [("modern", &modern), ("legacy", &legacy)] {
        let tools = listed(&client.list_tools().await.unwrap());
        let names: Vec<&str> = tools.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["calc__pull_rug"],
            "{era}: the changed tool is hidden"
        );
        let err = client
            .call_tool("calc__add", json!({"a": 2, "b": 3}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(CODE_GUARDRAIL_BLOCKED), "{era}: {err:?}");
        assert_eq!(err.data(), Some(&json!({"rule": "tool-pin"})), "{era}");
    }
    assert_eq!(pins.changes(), 1, "flagged once");
    let status = pins.status();
    let add = status.iter().find(|p| p.tool == "calc__add").unwrap();
    assert!(add.changed());

    // The operator reviews the new definition and approves exactly it.
    pins.approve("calc__add", add.seen).unwrap();
    for (era, client) in [("modern", &modern), ("legacy", &legacy)] {
        let sum = client
            .call_tool("calc__add", json!({"a": 40, "b": 2}))
            .await
            .unwrap();
        assert_eq!(text(&sum), "42", "{era}");
        let tools = listed(&client.list_tools().await.unwrap());
        assert!(
            tools[0].1.contains("id_rsa"),
            "{era}: the approved definition is listed"
        );
    }
}
