//! The one place where errors become A2A wire responses: JSON-RPC error objects, google.rpc
//! Status bodies for HTTP+JSON, and policy denials found anywhere in an error chain.

use agent_gateway_core::jsonrpc::{ErrorObject, Id};
use agent_gateway_core::{Denied, DeniedKind};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::{A2aBody, full};
use crate::error::{A2aError, error_info, grpc_status_name};
use crate::request::Binding;
use crate::router::find_a2a_error;

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<A2aBody> {
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn denied_reason(kind: &DeniedKind) -> &'static str {
    match kind {
        DeniedKind::Unauthenticated => "UNAUTHENTICATED",
        DeniedKind::Forbidden => "PERMISSION_DENIED",
        DeniedKind::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
        DeniedKind::BudgetExhausted => "BUDGET_EXHAUSTED",
        DeniedKind::GuardrailBlocked { .. } => "GUARDRAIL_BLOCKED",
        DeniedKind::BadRequest => "BAD_REQUEST",
        _ => "UNAVAILABLE",
    }
}

/// The JSON-RPC code for a denial: -32602 for a bad request, else -32000 (a server error in
/// the implementation-defined range that no A2A error uses).
fn denied_code(kind: &DeniedKind) -> i64 {
    match kind {
        DeniedKind::BadRequest => ErrorObject::INVALID_PARAMS,
        _ => -32000,
    }
}

/// The JSON-RPC error object of a denial, its `ErrorInfo` naming the reason and the rule.
pub(crate) fn denied_object(denied: &Denied) -> ErrorObject {
    let mut info = error_info(denied_reason(denied.kind()));
    info["domain"] = "agent-gateway".into();
    if let Some(rule) = denied.rule() {
        info["metadata"] = json!({"rule": rule});
    }
    ErrorObject::new(denied_code(denied.kind()), denied.message().to_owned())
        .with_data(json!([info]))
}

/// Renders any error: an [`A2aError`] or a [`Denied`] found in its chain, else an internal
/// error that says nothing of the cause (which is logged here, once).
///
/// To a `streaming` method, a JSON-RPC error that would be `200 application/json` is sent as
/// an event stream carrying that one error event, as the agents answer (a2a-sdk does so for
/// `tasks/resubscribe` to an unknown task): a streaming client never gets a plain JSON 200.
/// Answers with a status of their own (a refusal, an HTTP+JSON error) keep it.
pub(crate) fn render_error(
    err: &(dyn std::error::Error + 'static),
    binding: &Binding,
    streaming: bool,
) -> Response<A2aBody> {
    if let Some(a2a) = find_a2a_error(err) {
        let (rpc, rest) = (a2a.jsonrpc_http_status(), a2a.http_status());
        return encode(binding, rpc, rest, a2a.to_error_object(), streaming);
    }
    if let Some(denied) = Denied::find(err) {
        let status = denied.http_status();
        let obj = denied_object(denied);
        let mut res = encode(binding, status, status, obj, streaming);
        if let Some(after) = denied.retry_after_header() {
            res.headers_mut().insert(RETRY_AFTER, after);
        }
        return res;
    }
    tracing::error!(error = %err, "A2A request failed");
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    encode(
        binding,
        StatusCode::OK,
        status,
        ErrorObject::internal_error(),
        streaming,
    )
}

/// Renders an [`A2aError`] in the binding's format.
pub(crate) fn render_a2a(err: &A2aError, binding: &Binding) -> Response<A2aBody> {
    encode(
        binding,
        err.jsonrpc_http_status(),
        err.http_status(),
        err.to_error_object(),
        false,
    )
}

fn encode(
    binding: &Binding,
    rpc_status: StatusCode,
    rest_status: StatusCode,
    obj: ErrorObject,
    streaming: bool,
) -> Response<A2aBody> {
    match binding {
        Binding::JsonRpc { id } if streaming && rpc_status == StatusCode::OK => {
            super::sse::single(&rpc_error(Some(id), &obj))
        }
        Binding::JsonRpc { id } => json_response(rpc_status, &rpc_error(Some(id), &obj)),
        _ => json_response(rest_status, &rest_error(rest_status, &obj)),
    }
}

/// A JSON-RPC error response; `None` (or the placeholder id 0 of an unread request) is null.
pub(crate) fn rpc_error(id: Option<&Id>, obj: &ErrorObject) -> Value {
    json!({"jsonrpc": "2.0", "id": id.map_or(Value::Null, Id::to_value), "error": obj})
}

/// A google.rpc Status body.
pub(crate) fn rest_error(status: StatusCode, obj: &ErrorObject) -> Value {
    let details = obj
        .data
        .clone()
        .filter(Value::is_array)
        .unwrap_or_else(|| json!([]));
    json!({"error": {
        "code": status.as_u16(),
        "status": grpc_status_name(status),
        "message": obj.message,
        "details": details,
    }})
}

/// Renders an [`A2aError`] as a JSON-RPC error for a request whose id may not be known.
pub(crate) fn render_rpc(id: Option<&Id>, err: &A2aError) -> Response<A2aBody> {
    json_response(
        err.jsonrpc_http_status(),
        &rpc_error(id, &err.to_error_object()),
    )
}
