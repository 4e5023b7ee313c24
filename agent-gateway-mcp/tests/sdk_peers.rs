//! Real peers on both sides at once: the gateway (axum on 127.0.0.1) fronts the python SDK
//! fixture server over streamable HTTP and npm `@modelcontextprotocol/server-everything` over
//! stdio; the python SDK client and the TypeScript SDK clients (v1 `@modelcontextprotocol/sdk`,
//! legacy era only, and v2 `@modelcontextprotocol/client`, both eras) each list the merged tools
//! and call one tool of each upstream through it.
//!
//! Without the pinned peers (`.ci/peers`) these tests skip with a notice (with
//! `AGW_REQUIRE_PEERS=1`, FAIL saying how to install them).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use serde_json::{Value, json};
use tokio::process::Child;
use tower::ServiceBuilder;

use common::{fixture_server, mcp_js, python_client, serve, strings, ts_client, ts_client_v2};

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

/// The era headers of every request the gateway received: (`Mcp-Method`, `MCP-Protocol-Version`).
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// The gateway, serving on 127.0.0.1, in front of both real upstreams.
struct Gateway {
    url: String,
    seen: Seen,
    everything: StdioUpstream,
    _fixture: Child,
}

impl Gateway {
    async fn start() -> Self {
        let everything_js =
            mcp_js().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        let (fixture_url, fixture) = fixture_server().await;
        let everything = StdioUpstream::spawn(
            "everything",
            StdioConfig::new("node")
                .with_args([everything_js.into_os_string(), "stdio".into()])
                // node is found on the gateway's PATH.
                .with_inherited_env(),
        );
        tokio::time::timeout(Duration::from_secs(60), everything.ready())
            .await
            .expect("server-everything did not finish its handshake within 60 s");
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
        let front = McpFront::new(fed, McpFrontConfig::new("agent-gateway", "test").unwrap());
        let seen = Seen::default();
        let record = Arc::clone(&seen);
        let front = ServiceBuilder::new()
            .map_request(move |req: http::Request<axum::body::Body>| {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let era = (header("mcp-method"), header("mcp-protocol-version"));
                record.lock().unwrap().push(era);
                req
            })
            .service(front);
        let url = serve(front).await;
        Self {
            url,
            seen,
            everything,
            _fixture: fixture,
        }
    }

    /// Takes what the gateway has seen so far.
    fn take_seen(&self) -> Vec<(Option<String>, Option<String>)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// One call to each upstream, and one whose stdio progress the gateway relays.
fn ts_calls() -> Value {
    json!([
        ["py__echo-text", {"text": "from ts"}],
        ["everything__get-sum", {"a": 2, "b": 5}],
        ["everything__trigger-long-running-operation", {"duration": 0.4, "steps": 2}],
    ])
}

/// Checks a TypeScript client's report of [`ts_calls`].
fn assert_ts_calls(report: &Value) {
    assert_eq!(strings(&report["tools"]), merged(), "{report}");
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(strings(&calls[0]["content"]), ["echo:from ts"], "{report}");
    assert_eq!(calls[0]["isError"], false, "{report}");
    assert_eq!(
        strings(&calls[1]["content"]),
        ["The sum of 2 and 5 is 7."],
        "{report}"
    );
    assert_eq!(calls[1]["isError"], Value::Bool(false), "{report}");
    // Progress from the stdio server, relayed by the gateway as SSE under the client's token.
    assert_eq!(calls[2]["progress"], json!([[1, 2], [2, 2]]), "{report}");
    assert_eq!(
        strings(&calls[2]["content"]),
        ["Long running operation completed. Duration: 0.4 seconds, Steps: 2."],
        "{report}"
    );
    assert_eq!(
        calls[0]["progress"],
        json!([]),
        "nothing to relay: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_typescript_clients_through_the_gateway_to_http_and_stdio_servers() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let Some(_) = common::mcp_js_peer() else {
        return;
    };
    let Some(_) = common::node_peer() else { return };
    let gateway = Gateway::start().await;

    for mode in ["2026-07-28", "legacy"] {
        let report = python_client(&gateway.url, mode, "py__add", r#"{"a": 20, "b": 22}"#).await;
        assert_eq!(strings(&report["tools"]), merged(), "{mode}");
        assert_eq!(strings(&report["content"]), ["42"], "{mode}");
        let report = python_client(
            &gateway.url,
            mode,
            "everything__echo",
            r#"{"message": "via py"}"#,
        )
        .await;
        assert_eq!(strings(&report["content"]), ["Echo: via py"], "{mode}");
        assert_eq!(report["isError"], false, "{mode}");
    }

    let report = ts_client(&gateway.url, &ts_calls()).await;
    assert_eq!(report["protocolVersion"], "2025-11-25", "{report}");
    assert_ts_calls(&report);
    gateway.everything.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_v2_client_in_both_eras_through_the_gateway_to_http_and_stdio_servers() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let Some(_) = common::mcp_js_peer() else {
        return;
    };
    let Some(_) = common::node_peer() else { return };
    let gateway = Gateway::start().await;

    // Pinned modern: server/discover must offer 2026-07-28, and there is no fallback.
    let report = ts_client_v2(&gateway.url, "2026-07-28", &ts_calls()).await;
    assert_eq!(report["protocolVersion"], "2026-07-28", "{report}");
    assert_eq!(report["era"], "modern", "{report}");
    assert_ts_calls(&report);
    // Every message the client sent was modern, in its header and in its `_meta` alike...
    let sent = report["sent"].as_array().unwrap();
    assert_eq!(sent[0][0], "server/discover", "{report}");
    for message in sent {
        assert_eq!(message[1], "2026-07-28", "{report}");
        assert_eq!(message[2], "2026-07-28", "{report}");
    }
    // ...and that is what the gateway received: no initialize, no legacy request.
    let v = |s: &str| Some(s.to_owned());
    let modern = |method: &str| (v(method), v("2026-07-28"));
    let methods = [
        "server/discover",
        "tools/list",
        "tools/call",
        "tools/call",
        "tools/call",
    ];
    let expected = methods.map(modern).to_vec();
    assert_eq!(gateway.take_seen(), expected);

    // Auto: the probe finds the gateway modern.
    let report = ts_client_v2(&gateway.url, "auto", &ts_calls()).await;
    assert_eq!(report["protocolVersion"], "2026-07-28", "{report}");
    assert_ts_calls(&report);
    assert_eq!(gateway.take_seen(), expected);

    // Legacy: the initialize handshake, then requests without Mcp-Method.
    let report = ts_client_v2(&gateway.url, "legacy", &ts_calls()).await;
    assert_eq!(report["protocolVersion"], "2025-11-25", "{report}");
    assert_eq!(report["era"], "legacy", "{report}");
    assert_ts_calls(&report);
    let seen = gateway.take_seen();
    // At least the client's POSTs (it may also open the GET stream or DELETE its session).
    assert!(
        seen.len() >= report["sent"].as_array().unwrap().len(),
        "{seen:?}"
    );
    assert_eq!(
        seen[0],
        (None, None),
        "initialize carries no era header: {seen:?}"
    );
    assert!(
        seen[1..].iter().all(|s| *s == (None, v("2025-11-25"))),
        "{seen:?}"
    );
    gateway.everything.shutdown().await;
}
