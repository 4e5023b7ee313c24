//! The resumable-stream table's per-caller share, through the front with real callers (#12):
//! two API keys through the policy crate's auth, a tool that logs then waits, a
//! [`SessionStore`] with small [`SessionLimits`]. A caller whose share of recorded legacy
//! answer streams is taken by a stream still running gets its next answer unrecorded (resuming
//! it gives the session's plain GET stream, not the answer), while the other caller's answer is
//! still recorded and resumable with `Last-Event-ID`. Likewise for the table of server→client
//! requests waiting for clients: a caller past its share of pending elicitations gets the
//! upstream's next request refused (its call answers with a JSON-RPC error naming the share)
//! while the other caller's is still relayed and answered.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod shares_support;

use agent_gateway_core::BoxError;
use agent_gateway_mcp::front::ResponseBody;
use agent_gateway_mcp::session::SessionLimits;
use agent_gateway_mcp::upstream::UpstreamRequest;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use shares_support::{ALICE, BOB, Front, Request, open, open_with, post};
use tokio::sync::watch;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// How many of one caller's answer streams are recorded for resumption.
const STREAM_SHARE: usize = 1;
/// How many answer streams are recorded in all: room for both callers.
const STREAMS: usize = 4;
/// How many server→client requests may wait for one caller's clients.
const PENDING_SHARE: usize = 1;
/// How many server→client requests may wait in all: room for both callers.
const PENDING: usize = 8;
/// Recorded bytes, in all and per caller: far above what these few events take, so only the
/// stream counts bind.
const BYTES: usize = 1 << 20;
const BYTES_PER_CALLER: usize = 1 << 16;

/// The front over auth (two API keys) over a tool `slow` that logs `before <tag>`, waits until
/// `go` turns true, then answers `after <tag>`.
fn front(go: watch::Receiver<bool>) -> impl Front {
    let tool = tower::service_fn(move |req: UpstreamRequest| {
        let mut go = go.clone();
        async move {
            let tag = req
                .params()
                .get("arguments")
                .and_then(|a| a.get("tag"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if req.method_name() != "tools/call" {
                return Ok::<_, BoxError>(Map::new());
            }
            let n = req.notifier().cloned().ok_or("no notifier")?;
            let log = json!({"level": "info", "data": format!("before {tag}")});
            n.notify("notifications/message", log.as_object().cloned().unwrap())
                .await;
            go.wait_for(|go| *go).await?;
            let done = json!({"content": [{"type": "text", "text": format!("after {tag}")}]});
            Ok(done.as_object().cloned().unwrap_or_else(Map::new))
        }
    });
    let limits =
        SessionLimits::default().with_resumable(STREAMS, STREAM_SHARE, BYTES, BYTES_PER_CALLER);
    shares_support::front(BoxCloneSyncService::new(tool), limits)
}

/// A `GET` resuming `session`'s stream after event `last`, as `key`'s caller.
fn resume(session: &str, last: &str, key: &str) -> Request {
    http::Request::get("/mcp")
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {key}"))
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

/// The stream an event id (`<stream>-<seq>`) belongs to.
fn stream_of(id: &str) -> String {
    id.rsplit_once('-')
        .map(|(s, _)| s.to_owned())
        .unwrap_or_else(|| panic!("not a stream event id: {id:?}"))
}

/// Calls `slow` tagged `tag` in `session` as `key`'s caller and reads the stream up to its
/// log event: the body, still open, and the log event's id.
async fn call_slow(
    front: &impl Front,
    session: &str,
    key: &str,
    tag: &str,
) -> (ResponseBody, String) {
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "slow", "arguments": {"tag": tag}}});
    let res = front
        .clone()
        .oneshot(post(&call, Some(session), key))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let priming = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let (priming_id, data) = parse(&priming);
    assert!(data.is_empty(), "{tag}: the priming event carries no data");
    let log = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let (log_id, data) = parse(&log);
    assert!(data.contains(&format!("before {tag}")), "{tag}: {data}");
    assert_eq!(stream_of(&log_id), stream_of(&priming_id), "{tag}");
    (body, log_id)
}

/// Resumes after `last` and reads the whole rest: it must be the recorded answer `after <tag>`.
async fn resumed(front: &impl Front, session: &str, last: &str, key: &str, tag: &str) {
    let res = front
        .clone()
        .oneshot(resume(session, last, key))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{tag}");
    let rest = res.into_body().collect().await.unwrap().to_bytes();
    let (id, data) = parse(&rest);
    assert_eq!(
        stream_of(&id),
        stream_of(last),
        "{tag}: a replay of the same stream"
    );
    let response: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(response["id"], 1, "{tag}: {response}");
    assert_eq!(
        response["result"]["content"][0]["text"],
        format!("after {tag}"),
        "{tag}: {response}"
    );
}

#[tokio::test]
async fn a_caller_past_its_resumable_stream_share_is_not_recorded_while_another_is() {
    let (go, wait) = watch::channel(false);
    let front = front(wait);
    let alice = [open(&front, ALICE).await, open(&front, ALICE).await];
    let bob = open(&front, BOB).await;

    // Alice's first answer is recorded and still running: it holds her whole share.
    let (first, first_id) = call_slow(&front, &alice[0], ALICE, "alice-1").await;
    // Her next answer, in her other session, finds no room in her share: it still streams
    // (with event ids), but is not recorded.
    let (second, second_id) = call_slow(&front, &alice[1], ALICE, "alice-2").await;
    assert_ne!(stream_of(&second_id), stream_of(&first_id));
    // Bob's answer is recorded: his share is his own.
    let (bobs, bob_id) = call_slow(&front, &bob, BOB, "bob").await;

    // Every client leaves; the calls go on, and every answer can now be given.
    drop((first, second, bobs));
    go.send(true).unwrap();

    // Bob resumes his answer after the log event and gets the response.
    resumed(&front, &bob, &bob_id, BOB, "bob").await;
    // So does Alice for her first answer, within her share.
    resumed(&front, &alice[0], &first_id, ALICE, "alice-1").await;

    // Alice's second answer was not recorded: resuming it gives her session's own GET stream,
    // a new stream, not a replay of the answer.
    let res = front
        .clone()
        .oneshot(resume(&alice[1], &second_id, ALICE))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut other = res.into_body();
    let opening = other.frame().await.unwrap().unwrap().into_data().unwrap();
    let (opening_id, data) = parse(&opening);
    assert!(!data.contains("alice-2"), "{data}");
    assert_ne!(
        stream_of(&opening_id),
        stream_of(&second_id),
        "resuming an unrecorded answer replayed it: {opening_id} vs {second_id}"
    );
}

/// The front over auth (two API keys) over a modern tool that first asks the client for a
/// name (an elicitation, as `input_required`), then greets with it.
fn asking_front() -> impl Front {
    let tool = tower::service_fn(|req: UpstreamRequest| async move {
        let name = req
            .params()
            .get("inputResponses")
            .and_then(|r| r.get("who"))
            .and_then(|r| r.get("content"))
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let result = match name {
            _ if req.method_name() != "tools/call" => json!({}),
            None => json!({
                "resultType": "input_required",
                "requestState": "state",
                "inputRequests": {"who": {"method": "elicitation/create", "params": {
                    "mode": "form", "message": "Your name?",
                    "requestedSchema": {"type": "object",
                        "properties": {"name": {"type": "string"}}}}}}
            }),
            Some(name) => json!({"content": [{"type": "text", "text": format!("hello {name}")}]}),
        };
        Ok::<_, BoxError>(result.as_object().cloned().unwrap_or_else(Map::new))
    });
    let limits = SessionLimits::default().with_pending(PENDING, PENDING_SHARE);
    shares_support::front(BoxCloneSyncService::new(tool), limits)
}

/// The next message on a stream (the priming event, without data, skipped), or the whole body
/// when the answer is plain JSON.
async fn next_message(body: &mut ResponseBody) -> Value {
    loop {
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let text = std::str::from_utf8(&frame).unwrap();
        if let Ok(json) = serde_json::from_str::<Value>(text) {
            return json;
        }
        if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
            return serde_json::from_str(data).unwrap();
        }
    }
}

/// Calls the asking tool in `session` as `key`'s caller: the open body and its first message.
async fn call_asking(front: &impl Front, session: &str, key: &str) -> (ResponseBody, Value) {
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "greet"}});
    let res = front
        .clone()
        .oneshot(post(&call, Some(session), key))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let first = next_message(&mut body).await;
    (body, first)
}

fn asked(what: &str, message: &Value) -> String {
    assert_eq!(message["method"], "elicitation/create", "{what}: {message}");
    assert_eq!(
        message["params"]["message"], "Your name?",
        "{what}: {message}"
    );
    message["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_caller_past_its_pending_request_share_is_refused_while_another_is_asked() {
    let front = asking_front();
    let alice = [
        open_with(&front, ALICE, json!({"elicitation": {"form": {}}})).await,
        open_with(&front, ALICE, json!({"elicitation": {"form": {}}})).await,
    ];
    let bob = open_with(&front, BOB, json!({"elicitation": {"form": {}}})).await;

    // Alice's first call is asked for a name; the request waits for her client, holding her
    // whole share.
    let (_first, message) = call_asking(&front, &alice[0], ALICE).await;
    asked("alice within her share", &message);

    // Her second call, in her other session, is past her share: the request is not relayed,
    // the call answers with an error naming the caller's share.
    let (_second, message) = call_asking(&front, &alice[1], ALICE).await;
    assert_eq!(message["id"], 5, "alice past her share: {message}");
    assert_eq!(message["error"]["code"], -32603, "{message}");
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too many requests wait for this caller's clients"),
        "{message}"
    );
    assert!(message.get("result").is_none(), "{message}");

    // Bob is still asked, answers, and is greeted.
    let (mut bobs, message) = call_asking(&front, &bob, BOB).await;
    let id = asked("bob", &message);
    let answer = json!({"jsonrpc": "2.0", "id": id,
        "result": {"action": "accept", "content": {"name": "bob"}}});
    let res = front
        .clone()
        .oneshot(post(&answer, Some(&bob), BOB))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let last = next_message(&mut bobs).await;
    assert_eq!(last["id"], 5, "{last}");
    assert_eq!(last["result"]["content"][0]["text"], "hello bob", "{last}");
}
