//! Real peers on both sides at once: the gateway (axum on 127.0.0.1) fronts the python SDK
//! fixture server over streamable HTTP and npm `@modelcontextprotocol/server-everything` over
//! stdio; the python SDK client and the TypeScript SDK client each list the merged tools and
//! call one tool of each upstream through it.
//!
//! Without the pinned peers (`.ci/peers`) these tests FAIL, saying how to install them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::federation::{Federation, Member};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::{FrontConfig, McpFront};
use serde_json::{Value, json};

use common::{fixture_server, mcp_js, python_client, serve, strings, ts_client};

/// server-everything's tools, as this pinned version lists them.
const EVERYTHING: [&str; 13] = [
    "echo",
    "get-annotated-message",
    "get-env",
    "get-resource-links",
    "get-resource-reference",
    "get-structured-content",
    "get-sum",
    "get-tiny-image",
    "gzip-file-as-resource",
    "toggle-simulated-logging",
    "toggle-subscriber-updates",
    "trigger-long-running-operation",
    "simulate-research-query",
];

fn merged() -> Vec<String> {
    let mut names = vec!["py__add".to_owned(), "py__echo-text".to_owned()];
    names.extend(EVERYTHING.iter().map(|t| format!("everything__{t}")));
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_typescript_clients_through_the_gateway_to_http_and_stdio_servers() {
    let everything_js =
        mcp_js().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let (fixture_url, _server) = fixture_server().await;
    let everything = StdioUpstream::spawn(
        "everything",
        StdioConfig::new("node").with_args([everything_js.into_os_string(), "stdio".into()]),
    );
    // Bounded polling for an external process.
    for _ in 0..600 {
        if everything.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        everything.is_ready(),
        "server-everything did not finish its handshake within 60 s"
    );
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("py").unwrap(),
            HttpUpstream::connect(fixture_url.parse().unwrap()),
        ))
        .member(Member::new(
            ServerName::new("everything").unwrap(),
            everything.clone(),
        ))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        FrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;

    for mode in ["2026-07-28", "legacy"] {
        let report = python_client(&gateway, mode, "py__add", r#"{"a": 20, "b": 22}"#).await;
        assert_eq!(strings(&report["tools"]), merged(), "{mode}");
        assert_eq!(strings(&report["content"]), ["42"], "{mode}");
        let report = python_client(
            &gateway,
            mode,
            "everything__echo",
            r#"{"message": "via py"}"#,
        )
        .await;
        assert_eq!(strings(&report["content"]), ["Echo: via py"], "{mode}");
        assert_eq!(report["isError"], false, "{mode}");
    }

    let calls = json!([
        ["py__echo-text", {"text": "from ts"}],
        ["everything__get-sum", {"a": 2, "b": 5}],
        ["everything__trigger-long-running-operation", {"duration": 0.4, "steps": 2}],
    ]);
    let report = ts_client(&gateway, &calls).await;
    assert_eq!(report["protocolVersion"], "2025-11-25", "{report}");
    assert_eq!(strings(&report["tools"]), merged());
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(strings(&calls[0]["content"]), ["echo:from ts"]);
    assert_eq!(calls[0]["isError"], false);
    assert_eq!(strings(&calls[1]["content"]), ["The sum of 2 and 5 is 7."]);
    assert_eq!(calls[1]["isError"], Value::Bool(false));
    // Progress from the stdio server, relayed by the gateway as SSE under the client's token.
    assert_eq!(calls[2]["progress"], json!([[1, 2], [2, 2]]), "{report}");
    assert_eq!(
        strings(&calls[2]["content"]),
        ["Long running operation completed. Duration: 0.4 seconds, Steps: 2."]
    );
    assert_eq!(calls[0]["progress"], json!([]), "nothing to relay");
    everything.shutdown().await;
}
