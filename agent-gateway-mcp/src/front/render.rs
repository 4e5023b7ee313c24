//! Building the front's HTTP answers: JSON-RPC results and errors, 202s and bare statuses.

use std::convert::Infallible;

use agent_gateway_core::body::GatewayBody;
use agent_gateway_core::jsonrpc::{ErrorObject, Id, Message, Response as RpcResponse, encode};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value, json};

use agent_gateway_core::{BoxError, Denied};

use super::Front;
use crate::McpError;
use crate::era::{Era, META_SERVER_INFO};
use crate::error::Rendered;
use crate::error::{CODE_HEADER_MISMATCH, CODE_MISSING_CAPABILITY, CODE_UNSUPPORTED_VERSION};
use crate::method::McpMethod;

/// The body of every answer of the front: core's [`GatewayBody`], as for every front.
pub type ResponseBody = GatewayBody;

pub(crate) const MCP_SESSION_ID: &str = "mcp-session-id";

/// A `200 text/event-stream` answer relaying events already encoded (and keep-alive
/// comments) as `events` yields them, with core's SSE headers (no caching, no proxy
/// buffering).
pub(crate) fn sse<S>(events: S) -> Response<ResponseBody>
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    let (parts, _) = GatewayBody::sse_response(futures_util::stream::empty()).into_parts();
    let body = GatewayBody::stream(events.map(Ok::<_, Infallible>));
    Response::from_parts(parts, body)
}

fn full(bytes: Vec<u8>) -> ResponseBody {
    GatewayBody::full(bytes)
}

/// An answer with `status` and no body.
pub(crate) fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut res = Response::new(GatewayBody::empty());
    *res.status_mut() = status;
    res
}

/// 405 naming the methods the endpoint takes.
pub(crate) fn method_not_allowed(legacy: bool) -> Response<ResponseBody> {
    let mut res = error(
        None,
        Rendered::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorObject::invalid_request("Method not allowed"),
        ),
        None,
    );
    let allow = if legacy { "GET, POST, DELETE" } else { "POST" };
    res.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    res
}

/// A JSON-RPC error answer.
pub(crate) fn error(
    id: Option<Id>,
    rendered: Rendered,
    www_authenticate: Option<&HeaderValue>,
) -> Response<ResponseBody> {
    let status = rendered.status;
    let wire = Message::from(RpcResponse::error(id, rendered.error)).to_vec();
    let mut res = Response::new(full(wire));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Core's one Retry-After rendering: whole seconds rounded up, clamped.
    if let Some(after) = rendered
        .retry_after
        .map(Denied::quota_exceeded)
        .as_ref()
        .and_then(Denied::retry_after_header)
    {
        res.headers_mut().insert(RETRY_AFTER, after);
    }
    if status == StatusCode::UNAUTHORIZED
        && let Some(challenge) = www_authenticate
    {
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, challenge.clone());
    }
    res
}

/// A JSON-RPC result answer.
pub(crate) fn result(id: Id, result: Map<String, Value>) -> Response<ResponseBody> {
    // The envelope is written around the result in one pass.
    let wire = match encode::success(&id, &result) {
        Ok(wire) => wire,
        Err(e) => {
            tracing::error!(error = %e, "mcp: result did not serialise");
            return error(
                Some(id),
                Rendered::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorObject::internal_error(),
                ),
                None,
            );
        }
    };
    let mut res = Response::new(full(wire));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// A refusal with the id of the request it answers, if known.
pub(crate) type Failure = (Option<Id>, Rendered);

/// An error answer with `status`.
pub(crate) fn bad(status: StatusCode, error: ErrorObject) -> Rendered {
    Rendered::new(status, error)
}

/// The inner service's error as the front renders it.
///
/// In the modern era an upstream's request errors keep the HTTP status the spec gives them:
/// 400 for invalid params and the MCP header, capability and version errors, 404 for an
/// unknown method.
pub(crate) fn rendered(era: Era, e: &BoxError) -> Rendered {
    let mut rendered = Rendered::from_error(e.as_ref());
    if era == Era::Modern {
        let relayed = matches!(
            agent_gateway_core::error::cause_ref::<McpError>(e.as_ref()),
            Some(McpError::Upstream(_) | McpError::HeaderMismatch(_))
        );
        match rendered.error.code {
            ErrorObject::METHOD_NOT_FOUND => rendered.status = StatusCode::NOT_FOUND,
            ErrorObject::INVALID_REQUEST
            | ErrorObject::INVALID_PARAMS
            | CODE_HEADER_MISMATCH
            | CODE_MISSING_CAPABILITY
            | CODE_UNSUPPORTED_VERSION
                if relayed =>
            {
                rendered.status = StatusCode::BAD_REQUEST;
            }
            _ => {}
        }
    }
    rendered
}

/// Adds what every modern result must carry and the upstream may have left out.
pub(crate) fn finish_modern(
    front: &Front,
    method: &McpMethod,
    mut result: Map<String, Value>,
) -> Map<String, Value> {
    result
        .entry("resultType")
        .or_insert_with(|| json!("complete"));
    if method.is_cacheable() {
        // The gateway filters per caller, so nothing it answers is shareable by default.
        result.entry("ttlMs").or_insert_with(|| json!(0));
        result
            .entry("cacheScope")
            .or_insert_with(|| json!("private"));
    }
    if let Value::Object(meta) = result.entry("_meta").or_insert_with(|| json!({})) {
        meta.entry(META_SERVER_INFO)
            .or_insert_with(|| front.config.server_info());
    }
    result
}
