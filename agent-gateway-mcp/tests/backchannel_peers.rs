//! A legacy client's back-channel, end to end with real peers: the python SDK client (which
//! declares sampling, elicitation and roots and answers them) through the gateway to the
//! python SDK back-channel server (tests/peers/mcp/backchannel_server.py, a dual-era server
//! whose tool asks the client for an elicitation, a sampling and its roots, and fails in the
//! modern era for want of a back-channel, as SDK servers do), over streamable HTTP, stdio and
//! the legacy HTTP+SSE transport. Through the gateway the client gets what it gets from the
//! server alone, and is asked the same requests. Over stdio and legacy SSE each legacy client
//! session has a child (a stream) of its own, opened with its capabilities, stopped at its end
//! (the SDK client's `DELETE`), and past the configured limit a client gets a clear error.
//! The connectors' shared session (requests of no client) declares no capability, so the
//! server's tools fall back there as for a client without it; a modern-era client through
//! the federated gateway gets a stdio child of its own and is asked.
//!
//! Without the python venv these tests skip with a one-line notice, or with
//! `AGW_REQUIRE_PEERS=1` FAIL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::connector::{HttpUpstream, SseUpstream};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use common::{python, python_report, python_server_with, script, serve, strings};

/// The fixture's tool that asks all three, one after the other.
const TOOL: &str = "test_input_required_result_multiple_inputs";

/// The client's report of one call of [`TOOL`] at `url` in `mode`.
async fn call(url: &str, mode: &str) -> Value {
    python_report("backchannel_client.py", url, mode, TOOL, "{}").await
}

/// What the legacy client gets when its back-channel is reached: the three answers used.
fn assert_answered(report: &Value, what: &str) {
    assert_eq!(report["protocolVersion"], "2025-11-25", "{what}: {report}");
    assert_eq!(
        strings(&report["content"]),
        ["Hi Ada (1 roots)"],
        "{what}: {report}"
    );
    assert_eq!(report["isError"], false, "{what}: {report}");
    assert_eq!(
        strings(&report["asked"]),
        ["elicitation/create", "sampling/createMessage", "roots/list"],
        "{what}: {report}"
    );
}

fn front<S>(upstream: S) -> McpFront<Direct<S>> {
    McpFront::new(
        Direct::new(upstream),
        McpFrontConfig::new("agent-gateway", "test").unwrap(),
    )
}

/// Opens a legacy session on `front` and lists tools on it, which gives it its upstream
/// session (a child, a stream); the session is kept (no `DELETE`).
async fn hold_a_session<S>(front: &McpFront<Direct<S>>)
where
    Direct<S>: tower::Service<
            agent_gateway_mcp::McpRequest,
            Response = agent_gateway_mcp::McpResponse,
            Error = agent_gateway_core::BoxError,
        > + Clone
        + Send
        + Sync
        + 'static,
    <Direct<S> as tower::Service<agent_gateway_mcp::McpRequest>>::Future: Send + 'static,
{
    let post = |body: Value, session: Option<&str>| {
        let mut req = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        req.body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap()
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"roots": {}},
        "clientInfo": {"name": "holder", "version": "1"}}});
    let res = front.clone().oneshot(post(init, None)).await.unwrap();
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let res = front
        .clone()
        .oneshot(post(list, Some(&session)))
        .await
        .unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap();
    let text = String::from_utf8(body.to_bytes().to_vec()).unwrap();
    assert!(
        text.contains(TOOL),
        "the held session lists the tools: {text}"
    );
}

/// Two legacy clients at once, each on its own child or stream (two of two), each asked its
/// own; at their end (the SDK client's `DELETE`) both are gone.
async fn two_clients_each_on_their_own(url: &str, sessions: impl Fn() -> usize, what: &str) {
    let (a, b) = tokio::join!(call(url, "legacy"), call(url, "legacy"));
    assert_answered(&a, what);
    assert_answered(&b, what);
    assert_eq!(sessions(), 0, "{what}: each client's end stopped its own");
}

fn assert_full(report: &Value, what: &str) {
    let error = report["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("no room for another client session (limit 1)"),
        "{what}: {report}"
    );
    assert!(
        report["asked"].as_array().unwrap().is_empty(),
        "{what}: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_client_is_asked_through_the_gateway_as_by_a_dual_era_server_alone() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (url, _server) = python_server_with("backchannel_server.py", &[]).await;
    // The server alone: the legacy client is asked; a modern one is not, and the tool fails.
    assert_answered(&call(&url, "legacy").await, "alone");
    let alone_modern = call(&url, "2026-07-28").await;
    assert!(
        alone_modern["error"]
            .as_str()
            .is_some_and(|e| e.contains("back-channel")),
        "{alone_modern}"
    );

    let upstream = HttpUpstream::connect(url.parse().unwrap());
    // The era probed first, on a listing (a failed call's -32600 could be read as legacy).
    let list = upstream
        .clone()
        .oneshot(UpstreamRequest::new("tools/list", Map::new()))
        .await
        .unwrap();
    assert!(list["tools"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(upstream.era().await, Some(Era::Modern));
    let url = serve(front(upstream.clone())).await;
    // A modern client is spoken for in the modern era: no back-channel, as alone.
    let modern = call(&url, "2026-07-28").await;
    assert!(
        modern["error"]
            .as_str()
            .is_some_and(|e| e.contains("back-channel")),
        "through the gateway, as alone: {modern}"
    );
    assert_eq!(upstream.era().await, Some(Era::Modern));
    // Two legacy clients at once: each on its own upstream session, each asked its own.
    let (a, b) = tokio::join!(call(&url, "legacy"), call(&url, "legacy"));
    assert_answered(&a, "through the gateway");
    assert_answered(&b, "through the gateway, concurrently");
}

/// The back-channel fixture over stdio, relaying the server's requests when `relayed`.
fn stdio_config(relayed: bool) -> StdioConfig {
    StdioConfig::new(python())
        .with_args([
            script("backchannel_server.py").into_os_string(),
            "--stdio".into(),
        ])
        .with_env("PYTHONWARNINGS", "ignore")
        .with_request_timeout(Duration::from_secs(30))
        .with_relayed_requests(relayed)
}

/// A connector's per-client sessions, with real clients: through a gateway over `two` (room
/// for two client sessions) a legacy client is asked, and two at once each on their own; over
/// `one` (room for one), with a session held, the next client gets the limit's error.
async fn per_client_sessions<S>(two: S, one: S, sessions: fn(&S) -> usize, what: &str)
where
    S: Clone,
    Direct<S>: tower::Service<
            agent_gateway_mcp::McpRequest,
            Response = agent_gateway_mcp::McpResponse,
            Error = agent_gateway_core::BoxError,
        > + Clone
        + Send
        + Sync
        + 'static,
    <Direct<S> as tower::Service<agent_gateway_mcp::McpRequest>>::Future: Send + 'static,
{
    let url = serve(front(two.clone())).await;
    assert_answered(&call(&url, "legacy").await, what);
    two_clients_each_on_their_own(&url, || sessions(&two), what).await;
    let held = front(one.clone());
    hold_a_session(&held).await;
    assert_eq!(sessions(&one), 1, "{what}");
    let url = serve(held).await;
    assert_full(
        &call(&url, "legacy").await,
        &format!("{what}, past the limit"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_client_is_asked_by_a_stdio_server_through_the_gateway() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let spawn = |label: &str, max: usize| {
        let config = stdio_config(true).with_client_sessions(max, Duration::from_secs(600));
        StdioUpstream::spawn(label, config)
    };
    let (two, one) = (spawn("py-backchannel", 2), spawn("py-backchannel-1", 1));
    for upstream in [&two, &one] {
        tokio::time::timeout(Duration::from_secs(60), upstream.ready())
            .await
            .expect("the stdio server's handshake within 60 s");
    }
    let sessions: fn(&StdioUpstream) -> usize = StdioUpstream::client_sessions;
    per_client_sessions(two.clone(), one.clone(), sessions, "over stdio").await;
    two.shutdown().await;
    one.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_client_is_asked_by_a_legacy_sse_server_through_the_gateway() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (url, _server) = python_server_with("backchannel_server.py", &["--sse"]).await;
    // The helper names the streamable-HTTP path; this server's stream is at /sse.
    let sse = format!("{}/sse", url.strip_suffix("/mcp").unwrap());
    let upstream = SseUpstream::connect(sse.parse().unwrap()).with_relayed_requests(true);
    let idle = Duration::from_secs(600);
    per_client_sessions(
        upstream.clone().with_client_sessions(2, idle),
        upstream.with_client_sessions(1, idle),
        |u| u.client_sessions(),
        "over legacy SSE",
    )
    .await;
}

/// Calls `tool` on `upstream` with no client at all (no `ClientHop`), as the gateway's own
/// requests and a library's are: the connector's shared session serves it.
async fn call_without_a_client<S>(upstream: S, tool: &str) -> Map<String, Value>
where
    S: tower::Service<
            UpstreamRequest,
            Response = Map<String, Value>,
            Error = agent_gateway_core::BoxError,
        >,
{
    let Value::Object(params) = json!({"name": tool, "arguments": {}}) else {
        unreachable!("an object")
    };
    let req = UpstreamRequest::new("tools/call", params);
    upstream.oneshot(req).await.expect("the tool's result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_child_declares_no_capability_and_a_modern_client_is_asked_on_its_own() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let upstream = StdioUpstream::spawn("py-backchannel", stdio_config(true));
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("the stdio server's handshake within 60 s");
    // No client to ask: the server's tools fall back as for a client without the capability
    // (the shared child declares none), rather than asking and being refused (-32601).
    let shared = [
        (
            TOOL,
            "The client did not declare the 'elicitation' capability needed for elicitation/create",
        ),
        (
            "test_missing_capability",
            "The client did not declare the sampling capability",
        ),
    ];
    for (tool, fallback) in shared {
        let result = call_without_a_client(upstream.clone(), tool).await;
        let text = json!([{"type": "text", "text": fallback}]);
        assert_eq!(result["content"], text, "{tool}");
        assert_eq!(result["isError"], true, "{tool}");
    }
    assert_eq!(
        upstream.client_sessions(),
        0,
        "the shared child served them"
    );
    // A modern-era client (the python SDK's, declaring all three) through the federated
    // gateway is asked on a child of its own, and its answers complete the tool.
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("py").unwrap(),
            upstream.clone(),
        ))
        .build()
        .unwrap();
    let config = McpFrontConfig::new("agent-gateway", "test").unwrap();
    let url = serve(McpFront::new(fed, config)).await;
    let tool = format!("py__{TOOL}");
    let modern = python_report("backchannel_client.py", &url, "2026-07-28", &tool, "{}").await;
    assert_eq!(modern["protocolVersion"], "2026-07-28", "{modern}");
    assert_eq!(
        strings(&modern["content"]),
        ["Hi Ada (1 roots)"],
        "{modern}"
    );
    assert_eq!(
        strings(&modern["asked"]),
        ["elicitation/create", "sampling/createMessage", "roots/list"],
        "{modern}"
    );
    assert_eq!(upstream.client_sessions(), 1, "a child of its own");
    upstream.shutdown().await;
    // The legacy SSE connector's shared stream declares none either.
    let (url, _server) = python_server_with("backchannel_server.py", &["--sse"]).await;
    let sse = format!("{}/sse", url.strip_suffix("/mcp").unwrap());
    let upstream = SseUpstream::connect(sse.parse().unwrap()).with_relayed_requests(true);
    let (tool, fallback) = shared[1];
    let result = call_without_a_client(upstream, tool).await;
    let text = json!([{"type": "text", "text": fallback}]);
    assert_eq!(result["content"], text, "over SSE");
}
