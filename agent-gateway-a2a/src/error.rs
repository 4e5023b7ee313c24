//! The A2A errors the gateway answers with, and their v1.0.1 mapping to JSON-RPC codes, HTTP
//! statuses and `ErrorInfo` reasons.
//!
//! ```
//! use agent_gateway_a2a::error::A2aError;
//!
//! // An unknown task is -32001 / HTTP 404.
//! assert_eq!(A2aError::TaskNotFound.code(), -32001);
//! assert_eq!(A2aError::TaskNotFound.http_status(), 404);
//! assert_eq!(A2aError::TaskNotFound.reason(), "TASK_NOT_FOUND");
//! // A wrong Content-Type is -32005, answered with HTTP 415.
//! assert_eq!(A2aError::ContentTypeNotSupported.code(), -32005);
//! assert_eq!(A2aError::ContentTypeNotSupported.http_status(), 415);
//! // A policy denial keeps its own status, in a stream or out of one.
//! let blocked = A2aError::Denied(agent_gateway_core::Denied::guardrail_blocked("pii"));
//! assert_eq!((blocked.code(), blocked.http_status().as_u16()), (-32000, 403));
//! assert_eq!(blocked.reason(), "GUARDRAIL_BLOCKED");
//! ```

use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::{Denied, DeniedKind};
use http::StatusCode;
use serde_json::json;

/// An A2A error, raised by the front or the router and rendered at the edge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum A2aError {
    /// -32700: the body is not JSON.
    #[error("Parse error")]
    Parse,
    /// -32600: not a valid JSON-RPC request.
    #[error("Invalid Request: {0}")]
    InvalidRequest(String),
    /// -32601: no such method.
    #[error("Method not found: {0}")]
    MethodNotFound(String),
    /// -32602: the params are invalid.
    #[error("Invalid params: {0}")]
    InvalidParams(String),
    /// -32001: the task (or context) is unknown, or its id was not sealed by this gateway.
    #[error("Task not found")]
    TaskNotFound,
    /// -32002: the task cannot be canceled.
    #[error("Task cannot be canceled")]
    TaskNotCancelable,
    /// -32003: push notifications are not supported.
    #[error("Push Notification is not supported")]
    PushNotificationNotSupported,
    /// -32004: the operation is not supported.
    #[error("This operation is not supported: {0}")]
    UnsupportedOperation(&'static str),
    /// -32005: the Content-Type is not supported.
    #[error("Incompatible content types")]
    ContentTypeNotSupported,
    /// -32006: the agent answered with something that is not a valid A2A response.
    #[error("Invalid agent response")]
    InvalidAgentResponse,
    /// -32007: no extended card is configured.
    #[error("Extended agent card not configured")]
    ExtendedCardNotConfigured,
    /// -32009: the requested version is not supported.
    #[error("A2A version `{0}` is not supported")]
    VersionNotSupported(String),
    /// No agent of that name is registered (HTTP 404, JSON-RPC -32601 as there is no such endpoint).
    #[error("Unknown agent")]
    UnknownAgent,
    /// The request body exceeds the configured limit (HTTP 413, JSON-RPC -32600).
    #[error("Request body too large")]
    PayloadTooLarge,
    /// The webhook URL is outside the configured allow-list (JSON-RPC -32602, HTTP 400).
    #[error("Push notification URL is not allowed")]
    WebhookNotAllowed,
    /// The agent is unavailable: no instance could be reached (HTTP 503, JSON-RPC -32603).
    #[error("Agent unavailable")]
    Unavailable,
    /// The agent did not answer, or its stream went silent, within the configured time
    /// (HTTP 504, JSON-RPC -32603: A2A has no timeout error of its own).
    #[error("Agent timed out")]
    Timeout,
    /// An error object the upstream agent sent, relayed as is.
    #[error("{0}")]
    Upstream(ErrorObject),
    /// A policy denial, such as a guardrail block that ends a stream: rendered exactly as a
    /// denial before the call is (the denial's own HTTP status and `ErrorInfo` reason;
    /// JSON-RPC -32602 for a bad request, else -32000), in a stream or not.
    #[error("{0}")]
    Denied(Denied),
}

impl A2aError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        match self {
            A2aError::Parse => ErrorObject::PARSE_ERROR,
            A2aError::InvalidRequest(_) | A2aError::PayloadTooLarge => ErrorObject::INVALID_REQUEST,
            A2aError::MethodNotFound(_) | A2aError::UnknownAgent => ErrorObject::METHOD_NOT_FOUND,
            A2aError::InvalidParams(_) | A2aError::WebhookNotAllowed => ErrorObject::INVALID_PARAMS,
            A2aError::TaskNotFound => -32001,
            A2aError::TaskNotCancelable => -32002,
            A2aError::PushNotificationNotSupported => -32003,
            A2aError::UnsupportedOperation(_) => -32004,
            A2aError::ContentTypeNotSupported => -32005,
            A2aError::InvalidAgentResponse => -32006,
            A2aError::ExtendedCardNotConfigured => -32007,
            A2aError::VersionNotSupported(_) => -32009,
            A2aError::Unavailable | A2aError::Timeout => ErrorObject::INTERNAL_ERROR,
            A2aError::Upstream(e) => e.code,
            A2aError::Denied(d) => denied_code(d.kind()),
        }
    }

    /// The HTTP status for the HTTP+JSON binding (v1.0.1 mapping; 415 for a wrong Content-Type).
    pub fn http_status(&self) -> StatusCode {
        match self {
            A2aError::TaskNotFound | A2aError::UnknownAgent => StatusCode::NOT_FOUND,
            A2aError::ContentTypeNotSupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            A2aError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            A2aError::InvalidAgentResponse => StatusCode::INTERNAL_SERVER_ERROR,
            A2aError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            A2aError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            A2aError::MethodNotFound(_) => StatusCode::NOT_FOUND,
            A2aError::Upstream(e) => status_for_code(e.code),
            A2aError::Denied(d) => d.http_status(),
            _ => match self.code() {
                ErrorObject::INTERNAL_ERROR => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
        }
    }

    /// The HTTP status for a JSON-RPC error response: 200 as the SDKs do, but for the
    /// transport-level refusals (unknown agent, wrong Content-Type, oversized body).
    /// A denial keeps its own status (401, 403, 429, ...) on both bindings.
    pub fn jsonrpc_http_status(&self) -> StatusCode {
        match self {
            A2aError::Denied(d) => d.http_status(),
            A2aError::UnknownAgent => StatusCode::NOT_FOUND,
            A2aError::ContentTypeNotSupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            A2aError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::OK,
        }
    }

    /// The google.rpc `ErrorInfo` reason.
    pub fn reason(&self) -> &'static str {
        match self {
            A2aError::Denied(d) => denied_reason(d.kind()),
            _ => reason_for_code(self.code()),
        }
    }

    /// The JSON-RPC error object, with `data` holding the `ErrorInfo` for A2A-specific errors.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            A2aError::Upstream(e) => return e.clone(),
            A2aError::Denied(d) => return denied_object(d),
            _ => {}
        }
        let obj = ErrorObject::new(self.code(), self.to_string());
        if (-32099..=-32000).contains(&self.code()) {
            obj.with_data(json!([error_info(self.reason())]))
        } else {
            obj
        }
    }
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
fn denied_object(denied: &Denied) -> ErrorObject {
    let mut info = error_info(denied_reason(denied.kind()));
    info["domain"] = "agent-gateway".into();
    if let Some(rule) = denied.rule() {
        info["metadata"] = json!({"rule": rule});
    }
    ErrorObject::new(denied_code(denied.kind()), denied.message().to_owned())
        .with_data(json!([info]))
}

/// A google.rpc `ErrorInfo` detail in the A2A domain.
pub(crate) fn error_info(reason: &str) -> serde_json::Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "a2a-protocol.org",
    })
}

fn status_for_code(code: i64) -> StatusCode {
    match code {
        -32001 => StatusCode::NOT_FOUND,
        -32006 | -32603 => StatusCode::INTERNAL_SERVER_ERROR,
        -32601 => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn reason_for_code(code: i64) -> &'static str {
    match code {
        -32001 => "TASK_NOT_FOUND",
        -32002 => "TASK_NOT_CANCELABLE",
        -32003 => "PUSH_NOTIFICATION_NOT_SUPPORTED",
        -32004 => "UNSUPPORTED_OPERATION",
        -32005 => "CONTENT_TYPE_NOT_SUPPORTED",
        -32006 => "INVALID_AGENT_RESPONSE",
        -32007 => "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
        -32008 => "EXTENSION_SUPPORT_REQUIRED",
        -32009 => "VERSION_NOT_SUPPORTED",
        -32700 | -32600 | -32602 => "INVALID_ARGUMENT",
        -32601 => "NOT_FOUND",
        _ => "INTERNAL",
    }
}

/// The google.rpc status name of an error with JSON-RPC `code` sent with HTTP `status`: the
/// v1.0.1 mapping's gRPC column for the A2A errors (FAILED_PRECONDITION for a task that cannot
/// be canceled, say, as a2a-sdk answers), else by the HTTP status.
pub(crate) fn grpc_status_for(code: i64, status: StatusCode) -> &'static str {
    match code {
        -32002 | -32003 | -32004 | -32007 | -32008 | -32009 => "FAILED_PRECONDITION",
        _ => grpc_status_name(status),
    }
}

/// The `ErrorInfo` reason of an A2A error code (-32001 to -32009), if it is one.
pub(crate) fn a2a_reason(code: i64) -> Option<&'static str> {
    (-32009..=-32001)
        .contains(&code)
        .then(|| reason_for_code(code))
}

/// The google.rpc status name for an HTTP status.
pub(crate) fn grpc_status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 415 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 | 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}
