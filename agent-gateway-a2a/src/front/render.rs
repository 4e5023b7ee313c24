//! The one place where errors become A2A wire responses: JSON-RPC error objects, google.rpc
//! Status bodies for HTTP+JSON, and policy denials found anywhere in an error chain.

use agent_gateway_core::Denied;
use agent_gateway_core::jsonrpc::{ErrorObject, Id};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::{A2aBody, full};
use crate::error::{A2aError, a2a_reason, error_info, grpc_status_for};
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

/// Renders any error: an [`A2aError`] or a [`Denied`] found in its chain (one mapping for
/// both: a denial is an [`A2aError::Denied`]), else an internal error that says nothing of the
/// cause (which is logged here, once).
///
/// With `as_event` (a 0.3 JSON-RPC streaming method), a JSON-RPC error that would be
/// `200 application/json` is sent as an event stream carrying that one error event, as
/// a2a-sdk answers `tasks/resubscribe` to an unknown task; a 1.0 client gets the plain JSON
/// error a 1.0 agent gives before its first event. Answers with a status of their own (a
/// refusal, an HTTP+JSON error) keep it.
pub(crate) fn render_error(
    err: &(dyn std::error::Error + 'static),
    binding: &Binding,
    as_event: bool,
) -> Response<A2aBody> {
    if let Some(a2a) = find_a2a_error(err) {
        return render_a2a_as(a2a, binding, as_event);
    }
    if let Some(denied) = Denied::find(err) {
        return render_a2a_as(&A2aError::Denied(denied.clone()), binding, as_event);
    }
    tracing::error!(error = %err, "A2A request failed");
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    encode(
        binding,
        StatusCode::OK,
        status,
        ErrorObject::internal_error(),
        as_event,
    )
}

/// Renders `err` in the binding's format (see [`render_error`] for `as_event`), with
/// `Retry-After` for a denial that has one.
fn render_a2a_as(err: &A2aError, binding: &Binding, as_event: bool) -> Response<A2aBody> {
    let (rpc, rest) = (err.jsonrpc_http_status(), err.http_status());
    let mut res = encode(binding, rpc, rest, err.to_error_object(), as_event);
    if let A2aError::Denied(denied) = err
        && let Some(after) = denied.retry_after_header()
    {
        res.headers_mut().insert(RETRY_AFTER, after);
    }
    res
}

/// Renders an [`A2aError`] in the binding's format.
pub(crate) fn render_a2a(err: &A2aError, binding: &Binding) -> Response<A2aBody> {
    render_a2a_as(err, binding, false)
}

fn encode(
    binding: &Binding,
    rpc_status: StatusCode,
    rest_status: StatusCode,
    obj: ErrorObject,
    as_event: bool,
) -> Response<A2aBody> {
    match binding {
        Binding::JsonRpc { id } if as_event && rpc_status == StatusCode::OK => {
            super::sse::single(&rpc_error(id.as_ref(), &obj))
        }
        Binding::JsonRpc { id } => json_response(rpc_status, &rpc_error(id.as_ref(), &obj)),
        _ => json_response(rest_status, &rest_error(rest_status, &obj)),
    }
}

/// A JSON-RPC error response; `None` (no id, or one not read yet) is null.
pub(crate) fn rpc_error(id: Option<&Id>, obj: &ErrorObject) -> Value {
    json!({"jsonrpc": "2.0", "id": id.map_or(Value::Null, Id::to_value), "error": obj})
}

/// A google.rpc Status body. An A2A error relayed from an agent without its `ErrorInfo` (a 0.3
/// agent sends none) gets the one its code names, as a 1.0 agent sends it.
pub(crate) fn rest_error(status: StatusCode, obj: &ErrorObject) -> Value {
    let details = match (
        obj.data.clone().filter(Value::is_array),
        a2a_reason(obj.code),
    ) {
        (Some(details), _) => details,
        (None, Some(reason)) => json!([error_info(reason)]),
        (None, None) => json!([]),
    };
    json!({"error": {
        "code": status.as_u16(),
        "status": grpc_status_for(obj.code, status),
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
