//! Resumable legacy answers: a legacy client whose SSE answer breaks comes back with `GET` and
//! `Last-Event-ID` and gets the rest; its leaving did not cancel the call.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use agent_gateway_core::BoxError;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, oneshot};
use tower::ServiceExt;

fn post(body: &Value, session: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        b = b
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

fn resume(session: &str, last: &str) -> http::Request<Full<Bytes>> {
    http::Request::get("/mcp")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .header("last-event-id", last)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// (id, data) of one SSE frame.
fn parse(frame: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(frame).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or("")
            .to_owned()
    };
    (field("id: "), field("data: "))
}

#[tokio::test]
async fn a_legacy_client_resumes_a_broken_answer_and_its_call_went_on() {
    let (go, wait) = oneshot::channel::<()>();
    let wait = Arc::new(Mutex::new(Some(wait)));
    let tool = tower::service_fn(move |req: UpstreamRequest| {
        let wait = wait.clone();
        async move {
            let n = req.notifier().cloned().unwrap();
            let log = json!({"level": "info", "data": "before"});
            n.notify("notifications/message", log.as_object().cloned().unwrap())
                .await;
            if let Some(w) = wait.lock().await.take() {
                w.await.unwrap();
            }
            let done = json!({"content": [{"type": "text", "text": "after"}]});
            Ok::<_, BoxError>(done.as_object().cloned().unwrap_or_else(Map::new))
        }
    });
    let front = McpFront::new(Direct::new(tool), McpFrontConfig::new("gw", "1").unwrap());
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let res = front.clone().oneshot(post(&init, None)).await.unwrap();
        sessions.push(res.headers()["mcp-session-id"].to_str().unwrap().to_owned());
    }
    let call =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}});
    let res = front
        .clone()
        .oneshot(post(&call, Some(&sessions[0])))
        .await
        .unwrap();
    let mut body = res.into_body();
    let priming = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let text = std::str::from_utf8(&priming).unwrap();
    assert!(
        text.contains("retry: "),
        "the priming event says when to come back: {text}"
    );
    let (priming_id, data) = parse(&priming);
    assert!(data.is_empty());
    let log = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let (log_id, data) = parse(&log);
    assert!(data.contains("before"));
    // The connection breaks; the call goes on and answers later.
    drop(body);
    go.send(()).unwrap();

    // Resuming after the log event gives the response, then the stream ends.
    let res = front
        .clone()
        .oneshot(resume(&sessions[0], &log_id))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rest = res.into_body().collect().await.unwrap().to_bytes();
    let (_, data) = parse(&rest);
    let response: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(response["id"], 1);
    assert_eq!(response["result"]["content"][0]["text"], "after");

    // Resuming after the priming event replays the log event too.
    let res = front
        .clone()
        .oneshot(resume(&sessions[0], &priming_id))
        .await
        .unwrap();
    let all = res.into_body().collect().await.unwrap().to_bytes();
    let all = std::str::from_utf8(&all).unwrap();
    assert!(all.contains("before") && all.contains("after"), "{all}");

    // Another session cannot resume it: it gets its own GET stream, with none of these events.
    let res = front.oneshot(resume(&sessions[1], &log_id)).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut other = res.into_body();
    let first = other.frame().await.unwrap().unwrap().into_data().unwrap();
    let (other_id, data) = parse(&first);
    assert!(!data.contains("after"), "{data}");
    // Not a replay at all: the first event opens a stream of the other session's own (ids are
    // `<stream>-<seq>`), not the recorded one.
    let stream_of = |id: &str| id.rsplit_once('-').map(|(s, _)| s.to_owned());
    assert!(stream_of(&other_id).is_some(), "{other_id}");
    assert_ne!(
        stream_of(&other_id),
        stream_of(&log_id),
        "{other_id} vs {log_id}"
    );
}
