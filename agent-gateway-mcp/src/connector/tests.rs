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
