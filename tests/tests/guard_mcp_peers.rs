//! Real peer: a python `mcp` SDK server that changes a tool's description after it was
//! listed (the "rug pull"), behind the gateway with tool pinning in block mode. The change is
//! flagged, the tool hidden and its calls refused in both eras until approved; its arguments
//! are checked against the schema the real server declares. In flag mode the change is let
//! through, and the listing and the changed tool's calls answer with
//! `agw-guardrail-warning: tool-pin`.
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
use std::sync::{Arc, Mutex};

use agent_gateway_policy::guard::{
    GUARDRAIL_WARNING_HEADER, GuardLayer, PIN_RULE, PinMode, Pins, SchemaCheck,
};
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

type Front = McpFront<BoxCloneSyncService<McpRequest, McpResponse, BoxError>>;

/// The python rug-pull server behind a federation (as `calc`) under `guard`: the front, and
/// the server's process, which stops when dropped.
async fn behind(guard: GuardLayer) -> (Front, tokio::process::Child) {
    let (url, server) = common::python_server("rug_pull_server.py").await;
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("calc").unwrap(),
            HttpUpstream::connect(url.parse().unwrap()),
        ))
        .build()
        .unwrap();
    let stack = ServiceBuilder::new().layer(guard).service(fed);
    let front = McpFront::new(
        BoxCloneSyncService::new(stack),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    (front, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_server_changing_a_tool_description_is_flagged_and_blocked_until_approved() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let pins = Pins::new(PinMode::Block);
    let guard = GuardLayer::new()
        .with(pins.clone())
        .with(SchemaCheck::new());
    let (front, _server) = behind(guard).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flag_mode_a_changed_tool_is_listed_and_called_with_a_warning_header() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let pins = Pins::new(PinMode::Flag);
    let (front, _server) = behind(GuardLayer::new().with(pins.clone())).await;
    // The warning header of the last answer, as the client receives it.
    let last: Arc<Mutex<Option<String>>> = Arc::default();
    let sink = last.clone();
    let front = ServiceBuilder::new()
        .map_response(move |res: http::Response<_>| {
            let warning = res.headers().get(GUARDRAIL_WARNING_HEADER.as_header_name());
            *sink.lock().unwrap() = warning.map(|v| v.to_str().unwrap().to_owned());
            res
        })
        .service(front);
    let warning = || last.lock().unwrap().clone();
    let modern = McpClient::modern(front.clone());
    let legacy = McpClient::legacy(front);

    assert_eq!(modern.list_tools().await.unwrap().len(), 2);
    assert_eq!(warning(), None, "nothing changed yet");
    modern.call_tool("calc__pull_rug", json!({})).await.unwrap();
    assert_eq!(warning(), None);
    for (era, client) in [("modern", &modern), ("legacy", &legacy)] {
        let tools = listed(&client.list_tools().await.unwrap());
        assert_eq!(tools.len(), 2, "{era}: flagged, still listed");
        assert!(tools[0].1.contains("id_rsa"), "{era}: {tools:?}");
        assert_eq!(warning().as_deref(), Some(PIN_RULE), "{era}: the listing");
        let sum = client
            .call_tool("calc__add", json!({"a": 2, "b": 3}))
            .await
            .unwrap();
        assert_eq!(text(&sum), "5", "{era}: the call passes");
        assert_eq!(warning().as_deref(), Some(PIN_RULE), "{era}: its call");
        client.call_tool("calc__pull_rug", json!({})).await.unwrap();
        assert_eq!(warning(), None, "{era}: an unchanged tool's call");
    }
    assert_eq!(pins.changes(), 1, "flagged once");

    // Once approved, the tool is no longer flagged.
    pins.approve("calc__add", None).unwrap();
    modern.list_tools().await.unwrap();
    assert_eq!(warning(), None);
    modern
        .call_tool("calc__add", json!({"a": 1, "b": 1}))
        .await
        .unwrap();
    assert_eq!(warning(), None);
}
