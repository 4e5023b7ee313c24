//! The era probe (finding 10): only a definite answer is cached.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::*;

type HttpSvc = tower::util::BoxCloneSyncService<
    Request<Full<Bytes>>,
    Response<BoxBody<Bytes, Infallible>>,
    Infallible,
>;
type Script = Arc<Mutex<VecDeque<(StatusCode, Option<i64>)>>>;

/// An upstream answering with the scripted statuses in turn (with a JSON-RPC error of the
/// given code, or an empty body when `None`), then a modern result for ever; it
/// records the methods it was sent.
fn scripted(answers: &[(StatusCode, Option<i64>)]) -> (HttpSvc, Arc<Mutex<Vec<String>>>) {
    let script: Script = Arc::new(Mutex::new(answers.iter().copied().collect()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let svc = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let (script, record) = (script.clone(), record.clone());
        async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            record
                .lock()
                .unwrap()
                .push(body["method"].as_str().unwrap_or("").to_owned());
            let next = script.lock().unwrap().pop_front();
            let (status, answer) = match next {
                Some((status, Some(code))) => (
                    status,
                    json!({"jsonrpc": "2.0", "id": body["id"], "error": {"code": code, "message": "no"}}),
                ),
                Some((status, None)) => (status, Value::Null),
                None => (
                    StatusCode::OK,
                    json!({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": [], "resultType": "complete"}}),
                ),
            };
            let answer = if !answer.is_null() {
                answer.to_string()
            } else {
                String::new()
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

fn list() -> UpstreamRequest {
    UpstreamRequest::new("tools/list", Map::new())
}

#[tokio::test(start_paused = true)]
async fn a_first_429_then_a_modern_answer_leaves_the_upstream_modern() {
    let (svc, seen) = scripted(&[(StatusCode::TOO_MANY_REQUESTS, None)]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    let err = up.clone().oneshot(list()).await.unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<ConnectorError>(),
            Some(ConnectorError::Status(StatusCode::TOO_MANY_REQUESTS))
        ),
        "{err}"
    );
    assert_eq!(up.era().await, None, "a 429 settles nothing");
    // During the backoff a request fails at once, with no upstream call.
    assert!(up.clone().oneshot(list()).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 1);
    tokio::time::advance(PROBE_FIRST_BACKOFF).await;
    let ok = up.clone().oneshot(list()).await.unwrap();
    assert_eq!(ok["tools"], json!([]));
    assert_eq!(up.era().await, Some(Era::Modern));
    // Cached: no more probing, no legacy handshake ever.
    up.clone().oneshot(list()).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["tools/list"; 3]);
}

#[tokio::test(start_paused = true)]
async fn indefinite_answers_cache_nothing_and_back_off_longer_each_time() {
    let indefinite = [
        (StatusCode::FORBIDDEN, None),
        (StatusCode::NOT_FOUND, None),
        (StatusCode::SERVICE_UNAVAILABLE, None),
        (StatusCode::BAD_REQUEST, Some(ErrorObject::INVALID_PARAMS)),
    ];
    let (svc, seen) = scripted(&indefinite);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    let mut wait = PROBE_FIRST_BACKOFF;
    for n in 1..=indefinite.len() {
        assert!(up.clone().oneshot(list()).await.is_err());
        assert_eq!(up.era().await, None, "answer {n}");
        assert_eq!(seen.lock().unwrap().len(), n);
        // Just short of the wait: still backing off.
        tokio::time::advance(wait - Duration::from_millis(1)).await;
        assert!(up.clone().oneshot(list()).await.is_err());
        assert_eq!(seen.lock().unwrap().len(), n, "no probe during the backoff");
        tokio::time::advance(Duration::from_millis(1)).await;
        wait = (wait * 2).min(PROBE_MAX_BACKOFF);
    }
    up.clone().oneshot(list()).await.unwrap();
    assert_eq!(up.era().await, Some(Era::Modern));
}

#[test]
fn only_a_definite_legacy_signal_settles_legacy() {
    let answer = |status, outcome| wire::Answer {
        status,
        headers: HeaderMap::new(),
        outcome,
    };
    let err = |code| Some(Err(ErrorObject::new(code, "x")));
    assert_eq!(
        probe::verdict(&answer(StatusCode::BAD_REQUEST, None)),
        Some(Era::Legacy)
    );
    assert_eq!(
        probe::verdict(&answer(
            StatusCode::BAD_REQUEST,
            err(ErrorObject::INVALID_REQUEST)
        )),
        Some(Era::Legacy)
    );
    assert_eq!(
        probe::verdict(&answer(StatusCode::METHOD_NOT_ALLOWED, None)),
        Some(Era::Legacy)
    );
    assert_eq!(
        probe::verdict(&answer(
            StatusCode::NOT_FOUND,
            err(ErrorObject::METHOD_NOT_FOUND)
        )),
        Some(Era::Modern)
    );
    for status in [
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::FORBIDDEN,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
        StatusCode::BAD_GATEWAY,
    ] {
        assert_eq!(probe::verdict(&answer(status, None)), None, "{status}");
    }
    assert_eq!(
        probe::verdict(&answer(
            StatusCode::BAD_REQUEST,
            err(ErrorObject::INVALID_PARAMS)
        )),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn a_listen_probe_that_gets_a_429_caches_nothing() {
    let (svc, seen) = scripted(&[(StatusCode::TOO_MANY_REQUESTS, None)]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    let (notifier, _rx) = crate::notify::Notifier::listen(crate::listen::ListenFilter::all_lists());
    let req = UpstreamRequest::new(crate::listen::LISTEN, Map::new()).with_notifier(Some(notifier));
    assert!(up.clone().oneshot(req).await.is_err());
    assert_eq!(up.era().await, None);
    assert_eq!(*seen.lock().unwrap(), ["server/discover"]);
}

fn call() -> UpstreamRequest {
    let params = json!({"name": "t", "arguments": {}});
    UpstreamRequest::new("tools/call", params.as_object().cloned().unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_first_call_refused_as_invalid_is_passed_on_and_the_era_asked_of_discover() {
    // A modern server refusing the call itself (400, -32600): still modern.
    let (svc, seen) = scripted(&[(StatusCode::BAD_REQUEST, Some(ErrorObject::INVALID_REQUEST))]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    let err = up.clone().oneshot(call()).await.unwrap_err();
    let refused = err.downcast_ref::<crate::McpError>();
    assert!(
        matches!(refused, Some(crate::McpError::Upstream(e)) if e.code == ErrorObject::INVALID_REQUEST),
        "the server's own error is passed on: {err}"
    );
    assert_eq!(up.era().await, Some(Era::Modern));
    up.clone().oneshot(call()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["tools/call", "server/discover", "tools/call"],
        "no legacy handshake"
    );

    // A legacy server refuses the discovery request the same way: legacy, and the call is
    // made again on a session.
    let invalid = (StatusCode::BAD_REQUEST, Some(ErrorObject::INVALID_REQUEST));
    let (svc, seen) = scripted(&[invalid, invalid]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    // The script's later answers are no legacy handshake: the call fails, legacy settled.
    assert!(up.clone().oneshot(call()).await.is_err());
    assert_eq!(up.era().await, Some(Era::Legacy));
    assert_eq!(
        seen.lock().unwrap()[..3],
        ["tools/call", "server/discover", "initialize"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_remembered_refusal_of_legacy_sessions_expires() {
    // The first `initialize` is refused (400); later ones get no version we speak.
    let (svc, seen) = scripted(&[(StatusCode::BAD_REQUEST, None)]);
    let up = HttpUpstream::new(svc, Uri::from_static("http://up.test/mcp"));
    let legacy_client =
        || list().with_client(Some(crate::request::ClientHop::default().with_session("k")));
    up.clone().oneshot(legacy_client()).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["initialize", "tools/list"]);
    // Remembered: served in the upstream's era, no handshake.
    tokio::time::advance(LEGACY_REFUSAL_EXPIRY - Duration::from_secs(1)).await;
    up.clone().oneshot(legacy_client()).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
    // Expired: the next legacy client's handshake asks again.
    tokio::time::advance(Duration::from_secs(1)).await;
    up.clone().oneshot(legacy_client()).await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[3..],
        ["initialize", "tools/list"],
        "asked again after {LEGACY_REFUSAL_EXPIRY:?}"
    );
}
