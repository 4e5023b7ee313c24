//! One JSON-RPC exchange over streamable HTTP: the POST, and the answer read as JSON or as an
//! SSE stream up to the response for this request.

use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Id, Message, Payload, encode};
use agent_gateway_core::sse::Decoder;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::ConnectorError;
use crate::McpError;
use crate::notify::{Notifier, Relayed};

/// The most bytes read from one upstream answer.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// What came back for one POST.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The response to our request, if one came.
    pub(crate) outcome:
        Option<Result<Map<String, Value>, agent_gateway_core::jsonrpc::ErrorObject>>,
}

impl Answer {
    /// The result, or the error to report.
    pub(crate) fn into_result(self) -> Result<Map<String, Value>, BoxError> {
        match self.outcome {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(Box::new(McpError::Upstream(e))),
            None => Err(Box::new(ConnectorError::Status(self.status))),
        }
    }
}

/// A header value for a mirrored name: as is when plain visible ASCII, else the base64 sentinel.
pub(crate) fn mirrored(value: &str) -> Option<HeaderValue> {
    let plain = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.starts_with("=?base64?");
    if plain {
        HeaderValue::from_str(value).ok()
    } else {
        HeaderValue::from_str(&format!("=?base64?{}?=", STANDARD.encode(value))).ok()
    }
}

/// A message ready to post: its bytes, written once, and its id (requests only).
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    id: Option<Id>,
    bytes: Bytes,
    /// The request's `_meta` trace context, also sent as W3C headers.
    trace: Vec<(&'static str, HeaderValue)>,
}

impl Outbound {
    /// A request, its envelope written around the borrowed `params` in one pass.
    pub(crate) fn request(
        id: Id,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Self, serde_json::Error> {
        let bytes = encode::request(&id, method, Some(params))?;
        Ok(Outbound {
            id: Some(id),
            bytes: Bytes::from(bytes),
            trace: trace_headers(params),
        })
    }

    /// Any message (notifications and responses, which carry no id to wait for).
    pub(crate) fn message(message: &Message) -> Self {
        Outbound {
            id: message.id().cloned(),
            bytes: Bytes::from(message.to_vec()),
            trace: Vec::new(),
        }
    }
}

/// The `traceparent` (when well formed) and its `tracestate` from `params._meta`, where the
/// gateway's span context is (see [`UpstreamRequest::from_request`](crate::upstream::UpstreamRequest::from_request)),
/// as HTTP headers: an upstream that reads only the W3C headers continues the same trace.
fn trace_headers(params: &Map<String, Value>) -> Vec<(&'static str, HeaderValue)> {
    use agent_gateway_core::trace::{TRACEPARENT, TRACESTATE, TraceParent};
    let meta = params.get("_meta").and_then(Value::as_object);
    let get = |key| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
    let Some(parent) = get(TRACEPARENT).and_then(TraceParent::parse) else {
        return Vec::new();
    };
    let mut out = vec![(TRACEPARENT, parent.to_header_value())];
    if let Some(state) = get(TRACESTATE).and_then(|s| HeaderValue::from_str(s).ok()) {
        out.push((TRACESTATE, state));
    }
    out
}

/// The POST of `message` with `headers`, the JSON-RPC media types and the upstream's own
/// credential.
fn request(
    uri: &Uri,
    authorization: Option<&HeaderValue>,
    headers: HeaderMap,
    message: &Outbound,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let mut req = Request::post(uri.clone()).body(Full::new(message.bytes.clone()))?;
    let h = req.headers_mut();
    *h = headers;
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    if let Some(a) = authorization {
        let mut a = a.clone();
        a.set_sensitive(true);
        h.insert(AUTHORIZATION, a);
    }
    for (name, value) in &message.trace {
        h.insert(*name, value.clone());
    }
    Ok(req)
}

/// Posts a message that expects no answer (a response or a notification) and drops the body.
pub(crate) async fn post_only<C, B>(
    client: C,
    uri: &Uri,
    authorization: Option<&HeaderValue>,
    headers: HeaderMap,
    message: &Outbound,
) -> Result<StatusCode, BoxError>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>>,
    C::Error: Into<BoxError>,
{
    let req = request(uri, authorization, headers, message)?;
    let res = client.oneshot(req).await.map_err(Into::into)?;
    Ok(res.status())
}

/// Posts `message` and reads the answer up to the response to it. The answer's headers, and
/// each piece of its body, must come within `idle` ([`ConnectorError::Idle`] otherwise): a
/// silent upstream never holds a call, or a listen, for ever.
pub(crate) async fn post<C, B>(
    client: C,
    uri: &Uri,
    authorization: Option<&HeaderValue>,
    headers: HeaderMap,
    message: &Outbound,
    notifier: Option<&Notifier>,
    idle: Duration,
) -> Result<Answer, BoxError>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    C::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    // Where answers to the upstream's own requests go: the same endpoint and session.
    let mut back = headers.clone();
    back.remove("mcp-method");
    back.remove("mcp-name");
    let respond = |msg: Message| {
        let client = client.clone();
        let back = back.clone();
        async move {
            match post_only(client, uri, authorization, back, &Outbound::message(&msg)).await {
                Ok(s) if s.is_success() => {}
                Ok(s) => {
                    tracing::warn!(status = %s, "mcp: upstream refused an answer to its request")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "mcp: could not answer the upstream's request")
                }
            }
        }
    };
    let req = request(uri, authorization, headers, message)?;
    let res = tokio::time::timeout(idle, client.clone().oneshot(req))
        .await
        .map_err(|_| ConnectorError::Idle(idle))?
        .map_err(Into::into)?;
    let (parts, body) = res.into_parts();
    let id = message.id.clone();
    let is_sse = is_event_stream(&parts.headers);
    let outcome = if parts.status == StatusCode::ACCEPTED || id.is_none() {
        None
    } else if is_sse {
        read_sse(body, id.as_ref(), notifier, &respond, idle).await?
    } else {
        let read = Limited::new(body, MAX_ANSWER).collect();
        let bytes = tokio::time::timeout(idle, read)
            .await
            .map_err(|_| ConnectorError::Idle(idle))??
            .to_bytes();
        match_response(&bytes, id.as_ref())
    };
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        outcome,
    })
}

/// Hands one upstream notification to the client's notifier; anything else is skipped.
async fn relay(notifier: &Notifier, data: &[u8]) {
    if let Some((method, params)) = notification(data) {
        notifier.notify(&method, params).await;
    }
}

/// The method and parameter object of an encoded notification; `None` for anything else
/// (a request, a response, parameters that are not an object).
pub(super) fn notification(data: &[u8]) -> Option<Relayed> {
    let Ok(Message::Notification(n)) = Message::from_slice(data) else {
        return None;
    };
    let params = match n
        .params
        .as_deref()
        .map(|raw| serde_json::from_str(raw.get()))
    {
        Some(Ok(Value::Object(m))) => m,
        None => Map::new(),
        Some(_) => return None,
    };
    Some((n.method, params))
}

/// Whether an answer's headers say it is an SSE stream.
pub(super) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

type Outcome = Option<Result<Map<String, Value>, agent_gateway_core::jsonrpc::ErrorObject>>;

fn match_response(bytes: &[u8], id: Option<&Id>) -> Outcome {
    let Ok(Message::Response(res)) = Message::from_slice(bytes) else {
        return None;
    };
    // An error about an unreadable request has no id; ours were readable, so take it too.
    if res.id.is_some() && res.id.as_ref() != id {
        return None;
    }
    match res.payload {
        Payload::Result(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(m)) => Some(Ok(m)),
            _ => Some(Ok(Map::new())),
        },
        Payload::Error(e) => Some(Err(e)),
    }
}

/// Reads SSE events as they arrive until the response to `id`; progress and log
/// notifications before it go to `notifier`, one at a time, as they come, and the upstream's
/// own requests are answered (through the client when it can be asked) with `respond`.
async fn read_sse<B, R, F>(
    body: B,
    id: Option<&Id>,
    notifier: Option<&Notifier>,
    respond: &R,
    idle: Duration,
) -> Result<Outcome, BoxError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    R: Fn(Message) -> F,
    F: std::future::Future<Output = ()>,
{
    let mut body = std::pin::pin!(body);
    let mut decoder = Decoder::new();
    let mut events = Vec::new();
    let mut seen = 0usize;
    loop {
        // Taken apart at once: the body's error type need not be `Send` across the relay.
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(Box::new(ConnectorError::Idle(idle))),
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) => return Err(e.into()),
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > MAX_ANSWER {
            return Err(Box::new(ConnectorError::TooLarge));
        }
        decoder.feed(&data, &mut events)?;
        for event in events.drain(..) {
            if let Some(found) = match_response(event.data.as_bytes(), id) {
                return Ok(Some(found));
            }
            if let Ok(Message::Request(req)) = Message::from_slice(event.data.as_bytes()) {
                respond(crate::notify::answer_request(notifier, req).await).await;
                continue;
            }
            if let Some(n) = notifier {
                relay(n, event.data.as_bytes()).await;
            }
        }
    }
    Ok(None)
}
