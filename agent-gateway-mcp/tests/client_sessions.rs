//! Stdio and legacy SSE upstreams keep one upstream session (a child process, a stream) per
//! client session or caller (issue #13): a legacy client's session has a child of its own,
//! two callers never share one, so nothing one caller's calls provoke (a log message) reaches
//! the other; the children are bounded, with a clear JSON-RPC error past the limit, and a
//! session's end stops its child.
//!
//! The stdio cases run the python SDK fixture (tests/peers/mcp/stdio_server.py); without the
//! python venv they skip with a one-line notice, or with `AGW_REQUIRE_PEERS=1` FAIL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_core::Caller;
use agent_gateway_mcp::connector::SseUpstream;
use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::error::{CODE_UPSTREAM_UNAVAILABLE, Rendered};
use agent_gateway_mcp::listen::{LISTEN, ListenFilter};
use agent_gateway_mcp::notify::{Notifier, Outgoing};
use agent_gateway_mcp::request::{ClientHop, Owner};
use agent_gateway_mcp::testkit::{FakeMcpServer, LegacySseServer};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpError, McpMethod};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use common::{python, script};

fn fixture(config: impl FnOnce(StdioConfig) -> StdioConfig) -> StdioUpstream {
    let base = StdioConfig::new(python())
        .with_args([script("stdio_server.py")])
        .with_env("PYTHONWARNINGS", "ignore")
        .with_request_timeout(Duration::from_secs(30));
    StdioUpstream::spawn("py", config(base))
}

async fn started(upstream: &StdioUpstream) {
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("the stdio fixture's handshake within 60 s");
}

fn legacy(session: &str) -> ClientHop {
    ClientHop::new(json!({"roots": {}}), Some("debug".into())).with_session(session)
}

fn caller(name: &str) -> ClientHop {
    ClientHop::new(json!({}), Some("debug".into()))
        .with_owner(Some(Owner::of(&Caller::new(name).with_tenant("t"))))
}

fn call(tool: &str, args: Value, client: Option<&ClientHop>) -> UpstreamRequest {
    let params = json!({"name": tool, "arguments": args});
    UpstreamRequest::new("tools/call", params.as_object().cloned().unwrap())
        .with_client(client.cloned())
}

/// The text of a tool's first content item.
async fn text(upstream: &StdioUpstream, req: UpstreamRequest) -> String {
    let result = upstream.clone().oneshot(req).await.unwrap();
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

async fn pid(upstream: &StdioUpstream, client: Option<&ClientHop>) -> String {
    text(upstream, call("pid", json!({}), client)).await
}

fn ended(client: &ClientHop) -> UpstreamRequest {
    UpstreamRequest::new(McpMethod::SessionDelete, Map::new()).with_client(Some(client.clone()))
}

/// Waits (bounded) until process `pid` is gone.
async fn gone(pid: &str) {
    let path = format!("/proc/{pid}");
    let wait = async {
        while std::path::Path::new(&path).exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("process {pid} still runs"));
}

fn is_full(e: &agent_gateway_core::BoxError, limit: usize) {
    let mcp = e.downcast_ref::<McpError>().expect("an MCP error");
    assert!(
        matches!(mcp, McpError::UpstreamSessionsFull { limit: l, .. } if *l == limit),
        "{mcp}"
    );
    let rendered = Rendered::from_error(e.as_ref());
    assert_eq!(rendered.error.code, CODE_UPSTREAM_UNAVAILABLE);
    assert!(
        rendered.error.message.contains(&format!("limit {limit}")),
        "{}",
        rendered.error.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_legacy_client_session_has_its_own_child_bounded_and_stopped_at_its_end() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let upstream = fixture(|c| {
        c.with_relayed_requests(true)
            .with_client_sessions(2, Duration::from_secs(600))
    });
    started(&upstream).await;
    let (a, b, c) = (legacy("a"), legacy("b"), legacy("c"));
    let shared = pid(&upstream, None).await;
    let pid_a = pid(&upstream, Some(&a)).await;
    let pid_b = pid(&upstream, Some(&b)).await;
    assert_ne!(pid_a, pid_b, "two client sessions, two children");
    assert_ne!(pid_a, shared);
    assert_ne!(pid_b, shared);
    assert_eq!(
        pid(&upstream, Some(&a)).await,
        pid_a,
        "a session keeps its child"
    );
    assert_eq!(upstream.client_sessions(), 2);

    // Past the limit: a clear error, not the shared child.
    let err = upstream
        .clone()
        .oneshot(call("pid", json!({}), Some(&c)))
        .await
        .unwrap_err();
    is_full(&err, 2);

    // A's session ends: its child stops, and there is room again.
    upstream.clone().oneshot(ended(&a)).await.unwrap();
    assert_eq!(upstream.client_sessions(), 1);
    gone(&pid_a).await;
    let pid_c = pid(&upstream, Some(&c)).await;
    assert_ne!(pid_c, pid_a);
    assert_eq!(
        pid(&upstream, Some(&b)).await,
        pid_b,
        "B's child was left alone"
    );
    upstream.shutdown().await;
    gone(&pid_b).await;
    gone(&pid_c).await;
}

/// Opens a listen for `client` that relays log messages; its notifications, once acknowledged.
async fn listen(
    upstream: &StdioUpstream,
    client: &ClientHop,
) -> (
    tokio::task::JoinHandle<Result<Map<String, Value>, agent_gateway_core::BoxError>>,
    tokio::sync::mpsc::Receiver<Outgoing>,
) {
    let filter = ListenFilter::new().tools();
    let (notifier, mut rx) = Notifier::listen(filter.clone());
    let notifier = notifier.with_log_level(Some("debug"));
    let req = UpstreamRequest::new(LISTEN, filter.to_params())
        .with_notifier(Some(notifier))
        .with_client(Some(client.clone()));
    let task = tokio::spawn(upstream.clone().oneshot(req));
    match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
        Ok(Some(Outgoing::Notification((method, _)))) => {
            assert_eq!(method, "notifications/subscriptions/acknowledged");
        }
        other => panic!("no acknowledgment: {other:?}"),
    }
    (task, rx)
}

/// The log messages left in `rx`.
fn logs(rx: &mut tokio::sync::mpsc::Receiver<Outgoing>) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Ok(out) = rx.try_recv() {
        if let Outgoing::Notification((method, params)) = out
            && method == "notifications/message"
        {
            seen.push(Value::Object(params));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_message_one_caller_provokes_never_reaches_another() {
    let Some(_) = common::python_peer() else {
        return;
    };
    // Relayed requests off: one child per caller.
    let upstream = fixture(|c| c);
    started(&upstream).await;
    let (alice, alice_too, bob) = (caller("alice"), caller("alice"), caller("bob"));
    let (alice_listen, mut alice_rx) = listen(&upstream, &alice).await;
    let (alice_too_listen, mut alice_too_rx) = listen(&upstream, &alice_too).await;
    let (bob_listen, mut bob_rx) = listen(&upstream, &bob).await;
    assert_eq!(upstream.client_sessions(), 2, "one child per caller");

    // Alice's call logs "counted" on her child.
    let done = text(&upstream, call("slow-count", json!({"n": 1}), Some(&alice))).await;
    assert_eq!(done, "counted:1");
    // The child goes, which ends the listens once all it sent was relayed: what they got is
    // all they will ever get.
    upstream.shutdown().await;
    for task in [alice_listen, alice_too_listen, bob_listen] {
        let end = tokio::time::timeout(Duration::from_secs(30), task).await;
        assert!(
            end.expect("the listen ended with its child")
                .unwrap()
                .is_err()
        );
    }
    let counted = |seen: &[Value]| seen.iter().any(|m| m["data"] == "counted");
    let (a, a2, b) = (
        logs(&mut alice_rx),
        logs(&mut alice_too_rx),
        logs(&mut bob_rx),
    );
    assert!(counted(&a), "alice hears her call's log: {a:?}");
    assert!(counted(&a2), "and so does her other client: {a2:?}");
    assert!(b.is_empty(), "bob hears nothing of alice's: {b:?}");
}

fn sse(server: &LegacySseServer<FakeMcpServer>) -> SseUpstream<LegacySseServer<FakeMcpServer>> {
    SseUpstream::new(server.clone(), "http://old.test/sse".parse().unwrap())
}

#[tokio::test]
async fn each_legacy_sse_client_session_has_its_own_stream_bounded_and_closed_at_its_end() {
    let server = LegacySseServer::new(FakeMcpServer::new().with_echo_tool("echo"));
    let upstream = sse(&server)
        .with_relayed_requests(true)
        .with_client_sessions(2, Duration::from_secs(600));
    let (a, b, c) = (legacy("a"), legacy("b"), legacy("c"));
    for client in [&a, &b, &a] {
        let req = call("echo", json!({"text": "hi"}), Some(client));
        upstream.clone().oneshot(req).await.unwrap();
    }
    assert_eq!(upstream.client_sessions(), 2);
    assert_eq!(server.open_streams(), 2, "one stream per client session");
    // Each stream's session was opened with its client's relayed capabilities.
    let inits: Vec<Value> = server
        .posts()
        .into_iter()
        .filter(|(_, m)| m["method"] == "initialize")
        .map(|(_, m)| m["params"]["capabilities"].clone())
        .collect();
    assert_eq!(inits, [json!({"roots": {}}), json!({"roots": {}})]);

    let err = upstream
        .clone()
        .oneshot(call("echo", json!({"text": "hi"}), Some(&c)))
        .await
        .unwrap_err();
    is_full(&err, 2);

    upstream.clone().oneshot(ended(&a)).await.unwrap();
    assert_eq!(upstream.client_sessions(), 1);
    // The stream's reader is aborted: the server sees it close once that abort has run.
    let closed = async {
        while server.open_streams() != 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("A's stream was closed");
    let req = call("echo", json!({"text": "hi"}), Some(&c));
    upstream.clone().oneshot(req).await.unwrap();
    assert_eq!(upstream.client_sessions(), 2);
}

#[tokio::test]
async fn two_callers_never_share_a_legacy_sse_stream() {
    let server = LegacySseServer::new(FakeMcpServer::new().with_echo_tool("echo"));
    let upstream = sse(&server);
    for client in [caller("alice"), caller("bob"), caller("alice")] {
        let req = call("echo", json!({"text": "hi"}), Some(&client));
        upstream.clone().oneshot(req).await.unwrap();
    }
    assert_eq!(upstream.client_sessions(), 2);
    assert_eq!(server.open_streams(), 2);
    // A request of no known caller uses the one shared stream.
    let req = call("echo", json!({"text": "hi"}), None);
    upstream.clone().oneshot(req).await.unwrap();
    assert_eq!(server.open_streams(), 3);
    assert_eq!(upstream.client_sessions(), 2);
}
