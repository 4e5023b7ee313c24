use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use agent_gateway_core::Secret;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::*;
use crate::request::ClientHop;

type Seen = Arc<Mutex<Vec<(http::HeaderMap, Value)>>>;
type HttpSvc = tower::util::BoxCloneSyncService<
    Request<Full<Bytes>>,
    Response<BoxBody<Bytes, Infallible>>,
    Infallible,
>;

/// An HTTP upstream answering every request with `status` and an SSE body cut into `chunks`,
/// recording what it was sent.
fn sse_server(status: StatusCode, chunks: Vec<&'static str>) -> (HttpSvc, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let svc = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let record = record.clone();
        let chunks = chunks.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            record.lock().unwrap().push((parts.headers, json));
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
                .into_iter()
                .map(|c| Ok(Frame::data(Bytes::from(c))))
                .collect();
            let mut res = Response::new(StreamBody::new(stream::iter(frames)).boxed());
            *res.status_mut() = status;
            res.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/event-stream"),
            );
            Ok::<_, Infallible>(res)
        }
    });
    (HttpSvc::new(svc), seen)
}

fn list() -> UpstreamRequest {
    UpstreamRequest::new("tools/list", Map::new())
}

#[tokio::test]
async fn sse_answer_read_up_to_the_response_across_cuts() {
    // A priming event, a progress notification, then the response, cut mid-line and mid-event.
    let (svc, seen) = sse_server(
        StatusCode::OK,
        vec![
            "id: 1\ndata: \nretry: 100\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",",
            "\"params\":{\"progressToken\":1,\"progress\":1}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"res",
            "ult\":{\"tools\":[{\"name\":\"t\"}]}}\n\n",
        ],
    );
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"))
        .with_era(Era::Modern)
        .with_authorization(Secret::new(HeaderValue::from_static(
            "Bearer upstream-token",
        )));
    let result = up.clone().oneshot(list()).await.unwrap();
    assert_eq!(result["tools"], json!([{"name": "t"}]));

    let seen = seen.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(headers["authorization"], "Bearer upstream-token");
    assert!(headers["authorization"].is_sensitive());
    assert_eq!(headers["mcp-protocol-version"], MODERN_VERSION);
    assert_eq!(headers["mcp-method"], "tools/list");
    assert_eq!(
        body["params"]["_meta"][META_PROTOCOL_VERSION],
        MODERN_VERSION
    );
    assert!(format!("{up:?}").contains("redacted"));
    assert!(!format!("{up:?}").contains("upstream-token"));
}

#[tokio::test]
async fn no_response_in_the_stream_is_an_error_and_names_the_status() {
    let (svc, _) = sse_server(StatusCode::OK, vec![": keep-alive\n\n"]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp")).with_era(Era::Modern);
    let err = up.oneshot(list()).await.unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<ConnectorError>(),
            Some(ConnectorError::Status(StatusCode::OK))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_error_during_the_probe_caches_no_era() {
    let (svc, seen) = sse_server(StatusCode::INTERNAL_SERVER_ERROR, vec![]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    assert!(up.clone().oneshot(list()).await.is_err());
    assert_eq!(up.era().await, None);
    assert_eq!(seen.lock().unwrap().len(), 1, "no legacy fallback on a 500");
}

#[test]
fn mirrored_names_use_the_base64_sentinel_when_not_plain() {
    assert_eq!(wire::mirrored("fs__read").unwrap(), "fs__read");
    assert_eq!(wire::mirrored("héllo").unwrap(), "=?base64?aMOpbGxv?=");
    assert_eq!(wire::mirrored(" lead").unwrap(), "=?base64?IGxlYWQ=?=");
    assert_eq!(
        wire::mirrored("=?base64?x?=").unwrap(),
        "=?base64?PT9iYXNlNjQ/eD89?="
    );
}

/// A legacy server that issues no session id: it answers `initialize` and later requests,
/// and refuses modern requests with a plain 400.
fn sessionless_legacy() -> (HttpSvc, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let svc = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let record = record.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body: Value =
                serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
            record
                .lock()
                .unwrap()
                .push((parts.headers.clone(), body.clone()));
            let modern = body["params"]["_meta"].get(META_PROTOCOL_VERSION).is_some();
            let (status, answer) = match body["method"].as_str() {
                _ if modern => (StatusCode::BAD_REQUEST, String::from("Bad Request")),
                Some("initialize") => (StatusCode::OK, json!({"jsonrpc": "2.0", "id": body["id"],
                    "result": {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "s", "version": "1"}}}).to_string()),
                Some("notifications/initialized") => (StatusCode::ACCEPTED, String::new()),
                _ => (StatusCode::OK, json!({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": []}}).to_string()),
            };
            let mut res = Response::new(Full::new(Bytes::from(answer)).boxed());
            *res.status_mut() = status;
            res.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            Ok::<_, Infallible>(res)
        }
    });
    (HttpSvc::new(svc), seen)
}

#[tokio::test]
async fn a_legacy_server_without_sessions_is_served_without_one() {
    let (svc, seen) = sessionless_legacy();
    let up = HttpUpstream::new(svc, Uri::from_static("http://old.test/mcp"));
    for _ in 0..2 {
        let result = up.clone().oneshot(list()).await.unwrap();
        assert_eq!(result["tools"], json!([]));
    }
    assert_eq!(up.era().await, Some(Era::Legacy));
    let seen = seen.lock().unwrap();
    let methods: Vec<_> = seen
        .iter()
        .map(|(_, b)| b["method"].as_str().unwrap().to_owned())
        .collect();
    // One probe, one handshake, then plain legacy requests with the negotiated version.
    assert_eq!(
        methods,
        [
            "tools/list",
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/list"
        ]
    );
    let (headers, _) = &seen[4];
    assert!(headers.get("mcp-session-id").is_none());
    assert_eq!(headers["mcp-protocol-version"], "2025-06-18");
}

type Log = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// A legacy-only server: `initialize` opens session `s<n>`; it records each message's method
/// (`DELETE` for a DELETE), session header and params.
fn legacy_server() -> (HttpSvc, Log) {
    let log: Log = Arc::default();
    let record = log.clone();
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let svc = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let record = record.clone();
        let opened = opened.clone();
        async move {
            let (parts, body) = req.into_parts();
            let session = parts
                .headers
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = body.collect().await.unwrap().to_bytes();
            let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let method = if parts.method == http::Method::DELETE {
                "DELETE".to_owned()
            } else {
                msg["method"].as_str().unwrap_or("").to_owned()
            };
            record
                .lock()
                .unwrap()
                .push((method.clone(), session, msg["params"].clone()));
            let (status, sid, answer) = match method.as_str() {
                "initialize" => {
                    let n = opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let result = json!({"protocolVersion": "2025-11-25", "capabilities": {},
                                        "serverInfo": {"name": "old", "version": "1"}});
                    (
                        StatusCode::OK,
                        Some(format!("s{n}")),
                        json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}),
                    )
                }
                "tools/list" => (
                    StatusCode::OK,
                    None,
                    json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"tools": []}}),
                ),
                _ => (StatusCode::ACCEPTED, None, Value::Null),
            };
            let body = if answer.is_null() {
                String::new()
            } else {
                answer.to_string()
            };
            let mut res =
                Response::new(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed());
            *res.status_mut() = status;
            res.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            if let Some(s) = sid {
                res.headers_mut()
                    .insert("mcp-session-id", HeaderValue::from_str(&s).unwrap());
            }
            Ok::<_, Infallible>(res)
        }
    });
    (HttpSvc::new(svc), log)
}

fn list_as(client: Option<ClientHop>) -> UpstreamRequest {
    UpstreamRequest::new("tools/list", Map::new()).with_client(client)
}

#[tokio::test(start_paused = true)]
async fn legacy_sessions_are_per_client_reused_and_closed_when_idle() {
    let (svc, log) = legacy_server();
    let up = HttpUpstream::new(svc, Uri::from_static("http://old.test/mcp"))
        .with_era(Era::Legacy)
        .with_sessions(Duration::from_secs(60), 2);
    let alice = ClientHop::new(json!({"sampling": {}}), None).with_session("alice");
    let bob = ClientHop::new(json!({"elicitation": {}}), None).with_session("bob");
    // Calls a second apart, so that "least recently used" is well defined.
    for client in [&alice, &bob, &alice] {
        up.clone()
            .oneshot(list_as(Some(client.clone())))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(up.open_sessions().await, 2);
    {
        let log = log.lock().unwrap();
        let inits: Vec<_> = log.iter().filter(|(m, _, _)| m == "initialize").collect();
        // One session each, opened with that client's own capabilities.
        assert_eq!(inits.len(), 2);
        assert_eq!(inits[0].2["capabilities"], json!({"sampling": {}}));
        assert_eq!(inits[1].2["capabilities"], json!({"elicitation": {}}));
        let lists: Vec<_> = log
            .iter()
            .filter(|(m, _, _)| m == "tools/list")
            .map(|(_, s, _)| s.clone().unwrap())
            .collect();
        assert_eq!(lists, ["s0", "s1", "s0"]);
    }

    // A third client over the limit pushes out the least recently used (bob's), which is
    // ended upstream.
    let carol = ClientHop::default().with_session("carol");
    up.clone().oneshot(list_as(Some(carol))).await.unwrap();
    assert_eq!(up.open_sessions().await, 2);
    // The DELETE runs in the background: let it.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let deleted = log
        .lock()
        .unwrap()
        .iter()
        .any(|(m, s, _)| m == "DELETE" && s.as_deref() == Some("s1"));
    assert!(deleted, "{:?}", log.lock().unwrap());

    // Idle past the TTL: alice's session is dropped and a new one opened on her next call.
    tokio::time::advance(Duration::from_secs(61)).await;
    up.clone().oneshot(list_as(Some(alice))).await.unwrap();
    let last = log
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(m, _, _)| m == "tools/list")
        .map(|(_, s, _)| s.clone());
    assert_eq!(last, Some(Some("s3".to_owned())));
    // A client without a session shares none of these.
    up.clone().oneshot(list_as(None)).await.unwrap();
    assert_eq!(
        up.open_sessions().await,
        2,
        "carol's expired too; alice's and the shared one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_legacy_call_is_cancelled_upstream_on_its_session() {
    let (inner, log) = legacy_server();
    // `tools/call` never answers; everything else goes to the recording legacy server.
    let svc = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let inner = inner.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            if serde_json::from_slice::<Value>(&bytes).unwrap_or_default()["method"] == "tools/call"
            {
                std::future::pending::<()>().await;
            }
            inner
                .oneshot(Request::from_parts(parts, Full::new(bytes)))
                .await
        }
    });
    let up = HttpUpstream::new(HttpSvc::new(svc), Uri::from_static("http://old.test/mcp"))
        .with_era(Era::Legacy);
    let params = json!({"name": "slow"}).as_object().cloned().unwrap();
    let call = up
        .clone()
        .oneshot(UpstreamRequest::new("tools/call", params));
    // The call is under way (its session open) and then dropped, as when the client leaves:
    // on the paused clock the timeout fires only once everything else is idle.
    let res = tokio::time::timeout(Duration::from_millis(50), call).await;
    assert!(res.is_err());
    // The cancel is posted from a spawned task: let it run (bounded, no clock involved).
    let told = || {
        log.lock()
            .unwrap()
            .iter()
            .any(|(m, _, _)| m == "notifications/cancelled")
    };
    for _ in 0..100 {
        if told() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let log = log.lock().unwrap();
    let cancelled = log
        .iter()
        .find(|(m, _, _)| m == "notifications/cancelled")
        .expect("the upstream was told");
    assert_eq!(
        cancelled.1.as_deref(),
        Some("s0"),
        "on the call's own session"
    );
    // The id of the dropped call: the initialize took 1, the call 2.
    assert_eq!(cancelled.2["requestId"], 2);
}

#[tokio::test]
async fn the_run_budget_header_goes_upstream_and_the_clients_credential_does_not() {
    let (svc, seen) = sse_server(
        StatusCode::OK,
        vec!["event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}\n\n"],
    );
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp")).with_era(Era::Modern);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer client-key"),
    );
    headers.insert("x-api-key", HeaderValue::from_static("client-key"));
    headers.insert(RUN_BUDGET_HEADER, HeaderValue::from_static("v1.k1.run.sig"));
    let parts = crate::request::McpRequestParts {
        id: Id::from(7),
        method: "tools/list".into(),
        params: Map::new(),
        era: Era::Modern,
        admission_only: false,
        headers,
        extensions: http::Extensions::new(),
    };
    up.oneshot(UpstreamRequest::from_request(parts))
        .await
        .unwrap();

    let seen = seen.lock().unwrap();
    let (sent, _) = &seen[0];
    assert_eq!(sent[RUN_BUDGET_HEADER], "v1.k1.run.sig");
    assert!(sent.get("authorization").is_none());
    assert!(sent.get("x-api-key").is_none());
}
