//! Progress and log notifications relayed to the client as SSE, event by event, through the
//! front alone and through a federation over an HTTP upstream that streams.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::upstream::{BoxUpstream, UpstreamRequest};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tower::ServiceExt;

const MODERN: &str = "2026-07-28";

fn config() -> McpFrontConfig {
    McpFrontConfig::new("gw", "1").unwrap()
}

fn call(tool: &str, token: Option<Value>) -> http::Request<Full<Bytes>> {
    call_at(tool, token, Some("info"))
}

/// A modern call opting in to log messages at `level` (none when `None`).
fn call_at(tool: &str, token: Option<Value>, level: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut meta = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
                          "io.modelcontextprotocol/clientCapabilities": {}});
    if let Some(l) = level {
        meta["io.modelcontextprotocol/logLevel"] = json!(l);
    }
    if let Some(t) = token {
        meta["progressToken"] = t;
    }
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                      "params": {"name": tool, "arguments": {}, "_meta": meta}});
    http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// The JSON of one SSE event (one frame of the front's body).
fn event(frame: &[u8]) -> Value {
    let text = std::str::from_utf8(frame).unwrap();
    assert!(text.lines().any(|l| l == "event: message"), "{text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    serde_json::from_str(data).unwrap()
}

async fn next_event<B>(body: &mut B) -> Value
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let frame = body.frame().await.unwrap().unwrap();
    event(&frame.into_data().unwrap())
}

fn progress(n: u64) -> Map<String, Value> {
    // The upstream's own token: the client must see its own instead.
    json!({"progressToken": "upstream-7", "progress": n, "total": 2})
        .as_object()
        .cloned()
        .unwrap()
}

/// A tool that reports progress, logs, waits for `go`, then answers.
fn slow_tool(go: oneshot::Receiver<()>) -> BoxUpstream {
    let go = std::sync::Arc::new(tokio::sync::Mutex::new(Some(go)));
    BoxUpstream::new(tower::service_fn(move |req: UpstreamRequest| {
        let go = go.clone();
        async move {
            if req.method() != "tools/call" {
                let tools = json!([{"name": "slow", "inputSchema": {"type": "object"}}]);
                return Ok(Map::from_iter([("tools".to_owned(), tools)]));
            }
            let n = req.notifier().cloned().unwrap();
            let relayed = n.notify("notifications/progress", progress(1)).await;
            assert_eq!(relayed, n.progress_token().is_some());
            let log = json!({"level": "info", "data": "half way"});
            assert!(
                n.notify("notifications/message", log.as_object().cloned().unwrap())
                    .await
            );
            if let Some(go) = go.lock().await.take() {
                go.await.unwrap();
            }
            Ok::<_, BoxError>(Map::from_iter([(
                "content".to_owned(),
                json!([{"type": "text", "text": "done"}]),
            )]))
        }
    }))
}

#[tokio::test]
async fn notifications_stream_before_the_response_event_by_event() {
    let (go, wait) = oneshot::channel();
    let front = McpFront::new(Direct::new(slow_tool(wait)), config());
    let res = front
        .oneshot(call("slow", Some(json!("tok"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let first = next_event(&mut body).await;
    assert_eq!(first["method"], "notifications/progress");
    assert_eq!(
        first["params"],
        json!({"progressToken": "tok", "progress": 1, "total": 2})
    );
    let second = next_event(&mut body).await;
    assert_eq!(second["method"], "notifications/message");
    assert_eq!(second["params"]["data"], "half way");
    // The tool has not answered yet: the events above were not held back for it.
    go.send(()).unwrap();
    let last = next_event(&mut body).await;
    assert_eq!(last["id"], 5);
    assert_eq!(last["result"]["content"][0]["text"], "done");
    assert_eq!(last["result"]["resultType"], "complete");
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn nothing_to_relay_is_plain_json() {
    let front = McpFront::new(
        Direct::new(agent_gateway_mcp::testkit::FakeMcpServer::new().with_echo_tool("e")),
        config(),
    );
    let res = front.oneshot(call("e", Some(json!(1)))).await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["result"]["content"][0]["text"], "e:{}");
}

#[tokio::test]
async fn progress_without_a_client_token_is_not_relayed() {
    let (go, wait) = oneshot::channel();
    let front = McpFront::new(Direct::new(slow_tool(wait)), config());
    go.send(()).unwrap();
    let res = front.oneshot(call("slow", None)).await.unwrap();
    // The log message still opens a stream; the progress never shows.
    let mut body = res.into_body();
    assert_eq!(
        next_event(&mut body).await["method"],
        "notifications/message"
    );
    assert_eq!(
        next_event(&mut body).await["result"]["content"][0]["text"],
        "done"
    );
}

fn gateway_over_http<S>(upstream: S) -> McpFront<Federation>
where
    S: tower::Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    let http = McpFront::new(Direct::new(upstream), config());
    let connector = HttpUpstream::new(http, "http://up.test/mcp".parse().unwrap());
    let member = Member::new(ServerName::new("up").unwrap(), connector)
        .with_timeout(Duration::from_secs(30));
    let fed = Federation::builder().member(member).build().unwrap();
    McpFront::new(fed, config())
}

#[tokio::test]
async fn an_http_upstreams_stream_is_relayed_through_the_federation() {
    let (go, wait) = oneshot::channel();
    let gateway = gateway_over_http(slow_tool(wait));
    let res = gateway
        .oneshot(call("up__slow", Some(json!(42))))
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let first = next_event(&mut body).await;
    assert_eq!(first["params"]["progressToken"], 42);
    assert_eq!(first["params"]["progress"], 1);
    assert_eq!(next_event(&mut body).await["params"]["level"], "info");
    go.send(()).unwrap();
    let last = next_event(&mut body).await;
    assert_eq!(
        (
            last["id"].clone(),
            last["result"]["content"][0]["text"].clone()
        ),
        (json!(5), json!("done"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_drops_the_upstream_call() {
    // The tool reports progress, then runs until it is dropped; `alive` tells when.
    let (alive, dropped) = oneshot::channel::<()>();
    let alive = std::sync::Arc::new(std::sync::Mutex::new(Some(alive)));
    let upstream = tower::service_fn(move |req: UpstreamRequest| {
        let alive = alive.lock().unwrap().take();
        async move {
            if let (Some(n), Some(_alive)) = (req.notifier(), alive) {
                n.notify("notifications/progress", progress(1)).await;
                std::future::pending::<()>().await;
            }
            Ok::<_, BoxError>(Map::new())
        }
    });
    let gateway = gateway_over_http(upstream);
    let res = gateway
        .oneshot(call("up__slow", Some(json!("t"))))
        .await
        .unwrap();
    let mut body = res.into_body();
    assert_eq!(next_event(&mut body).await["params"]["progressToken"], "t");
    drop(body);
    // The upstream's handler was dropped with the client's body, long before the timeout.
    let gone = tokio::time::timeout(Duration::from_secs(1), dropped).await;
    assert!(
        matches!(gone, Ok(Err(_))),
        "upstream call still running: {gone:?}"
    );
}

fn legacy_post(body: Value, session: Option<&http::HeaderValue>) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    if let Some(s) = session {
        req.headers_mut().insert("mcp-session-id", s.clone());
        req.headers_mut().insert(
            "mcp-protocol-version",
            http::HeaderValue::from_static("2025-11-25"),
        );
    }
    req
}

#[tokio::test]
async fn legacy_posts_stream_the_same_way() {
    let (go, wait) = oneshot::channel();
    go.send(()).unwrap();
    let front = McpFront::new(Direct::new(slow_tool(wait)), config());
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let res = front
        .clone()
        .oneshot(legacy_post(init, None))
        .await
        .unwrap();
    let session = res.headers()["mcp-session-id"].clone();
    let call = json!({"jsonrpc": "2.0", "id": "c-1", "method": "tools/call",
                      "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": 3}}});
    let res = front
        .oneshot(legacy_post(call, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    // A legacy stream opens with a priming event: an id and empty data, so a client can resume.
    let priming = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let priming = std::str::from_utf8(&priming).unwrap();
    assert!(
        priming.starts_with("id: ") && priming.ends_with("\ndata:\n\n"),
        "{priming}"
    );
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(frame.starts_with(b"id: "), "every legacy event has an id");
    assert_eq!(event(&frame)["params"]["progressToken"], 3);
    assert_eq!(
        next_event(&mut body).await["method"],
        "notifications/message"
    );
    let last = next_event(&mut body).await;
    assert_eq!(last["id"], "c-1");
    assert_eq!(last["result"]["content"][0]["text"], "done");
    assert!(
        last["result"].get("resultType").is_none(),
        "no modern fields in legacy"
    );
}

#[tokio::test]
async fn log_messages_need_the_clients_opt_in_and_respect_its_level() {
    let logging = tower::service_fn(|req: UpstreamRequest| async move {
        let n = req.notifier().cloned().unwrap();
        let mut relayed = Vec::new();
        for level in ["debug", "warning", "error"] {
            let log = json!({"level": level, "data": level});
            relayed.push(json!(
                n.notify("notifications/message", log.as_object().cloned().unwrap())
                    .await
            ));
        }
        Ok::<_, BoxError>(Map::from_iter([("relayed".to_owned(), json!(relayed))]))
    });
    let front = McpFront::new(Direct::new(logging), config());
    for (level, expected) in [
        (None, json!([false, false, false])),
        (Some("warning"), json!([false, true, true])),
        (Some("debug"), json!([true, true, true])),
    ] {
        let res = front
            .clone()
            .oneshot(call_at("t", None, level))
            .await
            .unwrap();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        let last = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .next_back()
            .unwrap_or(text);
        let body: Value = serde_json::from_str(last).unwrap();
        assert_eq!(body["result"]["relayed"], expected, "{level:?}");
        // And on the wire: exactly the log messages the level admits, as SSE events.
        let on_wire: Vec<Value> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter(|m| m["method"] == "notifications/message")
            .map(|m| m["params"]["level"].clone())
            .collect();
        let admitted: Vec<Value> = ["debug", "warning", "error"]
            .iter()
            .zip(expected.as_array().unwrap())
            .filter(|(_, yes)| yes.as_bool() == Some(true))
            .map(|(l, _)| json!(l))
            .collect();
        assert_eq!(on_wire, admitted, "{level:?}: {text}");
    }
}
