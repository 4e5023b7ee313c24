#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;

use agent_gateway_core::Secret;
use agent_gateway_core::jsonrpc::ErrorObject;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use serde_json::json;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::*;
use crate::McpError;
use crate::notify::{MESSAGE, Notifier, Outgoing, PROGRESS};
use crate::testkit::{FakeMcpServer, LegacySseServer};
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};

type Inner = BoxCloneSyncService<UpstreamRequest, Map<String, Value>, BoxError>;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn call(tool: &str) -> UpstreamRequest {
    UpstreamRequest::new("tools/call", obj(json!({"name": tool, "arguments": {}})))
}

fn text(result: &Map<String, Value>) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

/// Tools: `fast` answers at once; `slow` once `gate` has a permit; `chatty` reports progress
/// and a log message first; `broken` fails with a JSON-RPC error.
fn tools(gate: Arc<Semaphore>) -> Inner {
    BoxCloneSyncService::new(tower::service_fn(move |req: UpstreamRequest| {
        let gate = gate.clone();
        async move {
            let name = req.params().get("name").and_then(Value::as_str);
            let name = name.unwrap_or_default().to_owned();
            match name.as_str() {
                "slow" => drop(gate.acquire().await),
                "chatty" => {
                    let n = req.notifier().expect("a notifier");
                    n.notify(PROGRESS, obj(json!({"progress": 1, "total": 2})))
                        .await;
                    n.notify(MESSAGE, obj(json!({"level": "info", "data": "half way"})))
                        .await;
                }
                "broken" => {
                    return Err(BoxError::from(McpError::Upstream(ErrorObject::new(
                        -32000, "broken",
                    ))));
                }
                _ => {}
            }
            Ok(obj(json!({"content": [{"type": "text", "text": name}]})))
        }
    }))
}

fn server() -> (LegacySseServer<Inner>, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    (LegacySseServer::new(tools(gate.clone())), gate)
}

fn upstream<C>(client: C) -> SseUpstream<C> {
    SseUpstream::new(client, Uri::from_static("http://old.test/sse"))
}

fn error_of(e: &BoxError) -> Option<&SseUpstreamError> {
    e.downcast_ref::<SseUpstreamError>()
}

#[tokio::test]
async fn the_handshake_runs_once_then_calls_share_one_stream_with_our_own_credential() {
    let (server, _) = server();
    let up = upstream(server.clone()).with_authorization(Secret::new(HeaderValue::from_static(
        "Bearer upstream-token",
    )));
    assert!(
        !up.is_connected(),
        "nothing is opened before the first call"
    );
    assert!(server.stream_requests().is_empty());

    // Several first calls at once: one stream, one handshake.
    let calls = (0..4).map(|_| up.clone().oneshot(call("fast")));
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(text(&result.unwrap()), "fast");
    }
    assert!(up.is_connected());
    assert_eq!(up.streams_opened(), 1);

    let methods = server.methods();
    assert_eq!(
        methods[..2],
        ["initialize", "notifications/initialized"],
        "{methods:?}"
    );
    assert_eq!(methods.iter().filter(|m| *m == "initialize").count(), 1);
    let posts = server.posts();
    assert_eq!(posts[0].1["params"]["protocolVersion"], "2024-11-05");
    assert_eq!(posts[0].1["params"]["clientInfo"]["name"], "agent-gateway");
    for (headers, message) in &posts {
        assert_eq!(
            headers["authorization"], "Bearer upstream-token",
            "{message}"
        );
        assert_eq!(headers["content-type"], "application/json");
    }
    let streams = server.stream_requests();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0]["accept"], "text/event-stream");
    assert_eq!(streams[0]["authorization"], "Bearer upstream-token");

    let shown = format!("{up:?}");
    assert!(!shown.contains("upstream-token"), "{shown}");
    assert!(shown.contains("old.test"), "{shown}");
}

#[tokio::test]
async fn concurrent_calls_are_matched_to_their_answers_by_id() {
    let (server, gate) = server();
    let up = upstream(server.clone());
    let slow = tokio::spawn(up.clone().oneshot(call("slow")));
    // initialize, initialized, then the slow call: it is in flight.
    server.posted(3).await;
    // Answered while the slow one waits: the answers come out of order.
    assert_eq!(
        text(&up.clone().oneshot(call("fast")).await.unwrap()),
        "fast"
    );
    let err = up.clone().oneshot(call("broken")).await.unwrap_err();
    match err.downcast_ref::<McpError>() {
        Some(McpError::Upstream(e)) => assert_eq!(e.code, -32000),
        other => panic!("{other:?}"),
    }
    assert!(!slow.is_finished());
    gate.add_permits(1);
    assert_eq!(text(&slow.await.unwrap().unwrap()), "slow");
    assert_eq!(up.streams_opened(), 1);
}

#[tokio::test]
async fn progress_and_logs_for_a_request_reach_its_notifier_under_the_clients_token() {
    let (server, _) = server();
    let up = upstream(server.clone());
    let (notifier, mut events) = Notifier::channel(Some(json!("client-token")));
    let mut req = call("chatty").with_notifier(Some(notifier));
    req.params_mut()
        .insert("_meta".into(), json!({"progressToken": "client-token"}));
    assert_eq!(text(&up.clone().oneshot(req).await.unwrap()), "chatty");

    let Some(Outgoing::Notification((method, params))) = events.recv().await else {
        panic!("progress relayed")
    };
    assert_eq!(method, PROGRESS);
    assert_eq!(params["progressToken"], "client-token");
    assert_eq!(params["progress"], 1);
    let Some(Outgoing::Notification((method, params))) = events.recv().await else {
        panic!("log relayed")
    };
    assert_eq!(
        (method.as_str(), &params["data"]),
        (MESSAGE, &json!("half way"))
    );

    // The server saw our token (the request id), never the client's.
    let posts = server.posts();
    let (_, sent) = posts
        .iter()
        .find(|(_, m)| m["method"] == "tools/call")
        .unwrap();
    assert_eq!(sent["params"]["_meta"]["progressToken"], sent["id"]);
}

#[tokio::test]
async fn a_log_message_with_several_requests_in_flight_goes_to_no_client() {
    let (server, gate) = server();
    let up = upstream(server.clone());
    let mut receivers = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (notifier, rx) = Notifier::channel(None);
        receivers.push(rx);
        calls.push(tokio::spawn(
            up.clone()
                .oneshot(call("slow").with_notifier(Some(notifier))),
        ));
    }
    server.posted(4).await;
    server.push(&json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "whose?"}}));
    gate.add_permits(1);
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // The log came on the stream before either answer: had it been relayed, it would be here.
    for rx in &mut receivers {
        assert!(rx.try_recv().is_err());
    }
}

#[tokio::test(start_paused = true)]
async fn a_log_message_naming_its_request_reaches_only_that_client() {
    let (server, gate) = server();
    let up = upstream(server.clone());
    let mut receivers = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (notifier, rx) = Notifier::channel(None);
        receivers.push(rx);
        let before = server.posts().len().max(2);
        calls.push(tokio::spawn(
            up.clone()
                .oneshot(call("slow").with_notifier(Some(notifier))),
        ));
        server.posted(before + 1).await;
    }
    // The id the gateway gave the second call upstream.
    let (_, second) = server.posts().pop().unwrap();
    assert_eq!(second["method"], "tools/call");
    let id = second["id"].clone();
    server.push(&json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "about the second", "_meta": {"relatedRequestId": id}}}));
    // A name that is none of our calls proves nothing: to no client.
    server.push(&json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "about nobody", "_meta": {"relatedRequestId": 999}}}));
    gate.add_permits(2);
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        receivers[0].try_recv().is_err(),
        "not the first call's client"
    );
    let Ok(Outgoing::Notification((method, params))) = receivers[1].try_recv() else {
        panic!("the second call's client gets its log")
    };
    assert_eq!(method, MESSAGE);
    assert_eq!(params["data"], "about the second");
    assert!(receivers[1].try_recv().is_err(), "and only that one");
}

#[tokio::test(start_paused = true)]
async fn a_lost_stream_fails_calls_in_flight_at_once_and_the_next_call_reconnects() {
    let (server, _) = server();
    let up = upstream(server.clone());
    let slow = tokio::spawn(up.clone().oneshot(call("slow")));
    server.posted(3).await;
    server.drop_streams();
    // No timeout is involved: the call fails as the stream ends.
    let err = tokio::time::timeout(Duration::from_secs(1), slow)
        .await
        .expect("failed at once, not hung")
        .unwrap()
        .unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::Lost));
    assert!(!up.is_connected());

    // A lost stream is reopened by the next call, without waiting.
    assert_eq!(
        text(&up.clone().oneshot(call("fast")).await.unwrap()),
        "fast"
    );
    assert_eq!(up.streams_opened(), 2);
    let inits = server
        .methods()
        .iter()
        .filter(|m| *m == "initialize")
        .count();
    assert_eq!(inits, 2);
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_on_another_origin_is_refused_and_retried_only_after_the_backoff() {
    let evil = LegacySseServer::new(tools(Arc::new(Semaphore::new(0))))
        .with_endpoint("http://evil.test/messages");
    let up = upstream(evil.clone())
        .with_authorization(Secret::new(HeaderValue::from_static("Bearer secret")))
        .with_backoff(Duration::from_secs(1), Duration::from_secs(4));
    let err = up.clone().oneshot(call("fast")).await.unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::CrossOrigin));
    // Within the backoff: the same error at once, and no new stream.
    let err = up.clone().oneshot(call("fast")).await.unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::CrossOrigin));
    assert_eq!(up.streams_opened(), 1);
    tokio::time::advance(Duration::from_millis(1001)).await;
    let err = up.clone().oneshot(call("fast")).await.unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::CrossOrigin));
    assert_eq!(up.streams_opened(), 2);
    // The backoff doubled: 1 s is not enough now.
    tokio::time::advance(Duration::from_millis(1001)).await;
    up.clone().oneshot(call("fast")).await.unwrap_err();
    assert_eq!(up.streams_opened(), 2);
    // Nothing was ever POSTed: the credential went nowhere else.
    assert!(evil.posts().is_empty());
}

#[tokio::test]
async fn an_absolute_endpoint_on_the_same_origin_is_used() {
    let server = LegacySseServer::new(FakeMcpServer::new().with_echo_tool("echo"))
        .with_endpoint("http://OLD.test:80/messages");
    let up = upstream(server.clone());
    let list = up
        .oneshot(UpstreamRequest::new("tools/list", Map::new()))
        .await
        .unwrap();
    assert_eq!(list["tools"][0]["name"], "echo");
}

#[tokio::test(start_paused = true)]
async fn an_event_over_the_limit_drops_the_stream() {
    let (server, _) = server();
    let up = upstream(server.clone()).with_max_event_size(1024);
    let slow = tokio::spawn(up.clone().oneshot(call("slow")));
    server.posted(3).await;
    server.push(&json!({"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"data": "x".repeat(4096)}}));
    let err = slow.await.unwrap().unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::Lost));
}

#[tokio::test]
async fn a_server_ping_on_the_stream_is_answered_by_post() {
    let (server, _) = server();
    let up = upstream(server.clone());
    up.clone().oneshot(call("fast")).await.unwrap();
    let before = server.posts().len();
    server.push(&json!({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}));
    server.posted(before + 1).await;
    let (_, reply) = server.posts().pop().unwrap();
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "id": "srv-1", "result": {}})
    );
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_stream() {
    let (server, _) = server();
    let up = upstream(server.clone());
    up.clone().oneshot(call("fast")).await.unwrap();
    assert_eq!(server.open_streams(), 1);
    drop(up);
    for _ in 0..100 {
        if server.open_streams() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(server.open_streams(), 0);
}

type HttpSvc =
    BoxCloneSyncService<Request<Full<Bytes>>, Response<BoxBody<Bytes, Infallible>>, Infallible>;

/// An HTTP service answering every request with `status`, `content_type` and a body that
/// never ends.
fn answering(status: StatusCode, content_type: &'static str) -> HttpSvc {
    HttpSvc::new(tower::service_fn(
        move |_req: Request<Full<Bytes>>| async move {
            let body = http_body_util::StreamBody::new(futures_util::stream::pending::<
                Result<http_body::Frame<Bytes>, Infallible>,
            >());
            let mut res = Response::new(body.boxed());
            *res.status_mut() = status;
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            Ok(res)
        },
    ))
}

#[tokio::test(start_paused = true)]
async fn a_url_that_serves_no_stream_fails_the_call() {
    for (status, content_type, want) in [
        (
            StatusCode::UNAUTHORIZED,
            "text/plain",
            SseUpstreamError::Status(StatusCode::UNAUTHORIZED),
        ),
        (
            StatusCode::OK,
            "text/html",
            SseUpstreamError::NotEventStream,
        ),
        (
            StatusCode::OK,
            "text/event-stream",
            SseUpstreamError::ConnectTimeout,
        ),
    ] {
        let up =
            upstream(answering(status, content_type)).with_connect_timeout(Duration::from_secs(2));
        let err = up.oneshot(call("fast")).await.unwrap_err();
        assert_eq!(error_of(&err), Some(&want));
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_given_up_on_is_cancelled_upstream() {
    let (server, _) = server();
    let up = upstream(server.clone());
    let gave_up = tokio::time::timeout(Duration::from_secs(5), up.clone().oneshot(call("slow")));
    assert!(gave_up.await.is_err());
    // initialize, initialized, the call, then its cancellation.
    server.posted(4).await;
    let posts = server.posts();
    let (_, sent) = &posts[2];
    let (_, cancelled) = &posts[3];
    assert_eq!(cancelled["method"], "notifications/cancelled");
    assert_eq!(cancelled["params"]["requestId"], sent["id"]);
}

#[tokio::test]
async fn a_session_the_server_forgot_is_replaced_on_the_next_call() {
    let (server, _) = server();
    let up = upstream(server.clone());
    up.clone().oneshot(call("fast")).await.unwrap();
    server.forget_sessions();
    let err = up.clone().oneshot(call("fast")).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        Some(&SseUpstreamError::Status(StatusCode::NOT_FOUND))
    );
    assert!(!up.is_connected());
    assert_eq!(
        text(&up.clone().oneshot(call("fast")).await.unwrap()),
        "fast"
    );
    assert_eq!(up.streams_opened(), 2);
}

#[tokio::test]
async fn a_server_request_during_one_askable_call_goes_to_its_client() {
    let (server, gate) = server();
    let up = upstream(server.clone());
    up.clone().oneshot(call("fast")).await.unwrap();
    let (notifier, mut out) = Notifier::channel(None);
    let posted = server.posts().len();
    let slow = tokio::spawn(
        up.clone()
            .oneshot(call("slow").with_notifier(Some(notifier.with_requests()))),
    );
    // The slow call is in flight once the server has its POST.
    server.posted(posted + 1).await;
    let before = server.posts().len();
    server.push(&json!({"jsonrpc": "2.0", "id": "srv-7", "method": "roots/list", "params": {}}));
    let Some(Outgoing::Request(req)) = out.recv().await else {
        panic!("the client is asked")
    };
    assert_eq!(req.method(), "roots/list");
    req.reply(Ok(obj(json!({"roots": [{"uri": "file:///r"}]}))));
    server.posted(before + 1).await;
    let (_, reply) = server.posts().pop().unwrap();
    assert_eq!(
        reply,
        json!({"jsonrpc": "2.0", "id": "srv-7", "result": {"roots": [{"uri": "file:///r"}]}})
    );
    gate.add_permits(1);
    assert_eq!(text(&slow.await.unwrap().unwrap()), "slow");

    // With no askable call in flight, the request is refused.
    let before = server.posts().len();
    server.push(&json!({"jsonrpc": "2.0", "id": "srv-8", "method": "roots/list"}));
    server.posted(before + 1).await;
    let (_, reply) = server.posts().pop().unwrap();
    assert_eq!(reply["error"]["code"], -32601);
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_goes_silent_is_dropped_after_the_idle_timeout() {
    let (server, _gate) = server();
    let idle = Duration::from_secs(3);
    let up = upstream(server.clone()).with_stream_idle_timeout(idle);
    let slow = tokio::spawn(up.clone().oneshot(call("slow")));
    server.posted(3).await;
    let start = tokio::time::Instant::now();
    // Nothing comes on the stream: after the idle timeout it is taken for dead, and the call
    // in flight fails then, not at some later timeout.
    let err = slow.await.unwrap().unwrap_err();
    assert_eq!(error_of(&err), Some(&SseUpstreamError::Lost));
    let took = start.elapsed();
    assert!(took <= idle + Duration::from_millis(100), "{took:?}");
    assert!(!up.is_connected());
}
