//! Small typed errors of the MCP crate, and the one place every error becomes a JSON-RPC error
//! with its HTTP status.
//!
//! Policy denials ([`Denied`]) use the implementation-defined range -32000..-32019 that the MCP
//! spec leaves to servers (-32020..-32099 is reserved for MCP itself), with the HTTP status
//! the denial names. Protocol errors about one request (an unknown tool, an upstream's error)
//! travel in an HTTP 200 body, as JSON-RPC errors do.
//!
//! ```
//! use agent_gateway_core::{BoxError, Denied};
//! use agent_gateway_mcp::error::{McpError, Rendered};
//!
//! let denied: BoxError = Box::new(Denied::forbidden("no"));
//! let r = Rendered::from_error(denied.as_ref());
//! assert_eq!((r.status.as_u16(), r.error.code), (403, -32003));
//!
//! let unknown: BoxError = Box::new(McpError::UnknownName { kind: "tool", name: "x".into() });
//! let r = Rendered::from_error(unknown.as_ref());
//! assert_eq!((r.status.as_u16(), r.error.code), (200, -32602));
//! ```

use std::error::Error;
use std::time::Duration;

use agent_gateway_core::error::cause_ref;
use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::{Denied, DeniedKind};
use http::StatusCode;
use serde_json::json;

/// Unauthenticated: HTTP 401.
pub const CODE_UNAUTHENTICATED: i64 = -32001;
/// Forbidden by policy: HTTP 403.
pub const CODE_FORBIDDEN: i64 = -32003;
/// A quota is used up: HTTP 429 with `Retry-After`, `data.retryAfterMs`.
pub const CODE_QUOTA_EXCEEDED: i64 = -32004;
/// A budget is exhausted: HTTP 402.
pub const CODE_BUDGET_EXHAUSTED: i64 = -32005;
/// A guardrail blocked the content: HTTP 403, `data.rule`.
pub const CODE_GUARDRAIL_BLOCKED: i64 = -32006;
/// A policy store is down and the layer fails closed: HTTP 503.
pub const CODE_POLICY_UNAVAILABLE: i64 = -32007;
/// The upstream owning the name is unreachable or failed: HTTP 200, `data.upstream`.
pub const CODE_UPSTREAM_UNAVAILABLE: i64 = -32010;
/// The upstream owning the name did not answer in time: HTTP 200, `data.upstream`.
pub const CODE_UPSTREAM_TIMEOUT: i64 = -32011;
/// A request the client cancelled, where an answer is still written: -32800.
pub const CODE_CANCELLED: i64 = -32800;
/// -32020: MCP HeaderMismatch.
pub const CODE_HEADER_MISMATCH: i64 = -32020;
/// -32021: MCP MissingRequiredClientCapability.
pub const CODE_MISSING_CAPABILITY: i64 = -32021;
/// -32022: MCP UnsupportedProtocolVersion.
pub const CODE_UNSUPPORTED_VERSION: i64 = -32022;

/// An error of the MCP gateway itself.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// No upstream owns the tool, prompt or resource: -32602.
    #[error("unknown {kind}: {name}")]
    UnknownName {
        /// `tool`, `prompt` or `resource`.
        kind: &'static str,
        /// The name as the client sent it.
        name: String,
    },
    /// The upstream answered with a JSON-RPC error, relayed as is.
    #[error("upstream error: {0}")]
    Upstream(ErrorObject),
    /// The upstream could not be reached or failed.
    #[error("upstream {upstream} is unavailable")]
    UpstreamUnavailable {
        /// The upstream's name.
        upstream: String,
    },
    /// The upstream did not answer within its timeout.
    #[error("upstream {upstream} timed out after {timeout:?}")]
    UpstreamTimeout {
        /// The upstream's name.
        upstream: String,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The method is not served: -32601.
    #[error("method not found: {0}")]
    MethodNotFound(String),
    /// The parameters are invalid: -32602.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A mirrored header disagrees with the body (`Mcp-Param-*`): -32020, HTTP 400.
    #[error("header mismatch: {0}")]
    HeaderMismatch(String),
    /// The client cancelled the request (`notifications/cancelled`): -32800.
    #[error("request cancelled by the client")]
    Cancelled,
    /// The legacy session is not one the caller may use (another caller's, or ended):
    /// HTTP 404 with -32600, the answer a forged session id gets.
    #[error("session not found")]
    SessionNotFound,
    /// The upstream keeps one session (a child process, a connection) per client, and has
    /// no room for another: -32010 naming the limit. Never answered with a shared session.
    #[error("upstream {upstream} has no room for another client session (limit {limit})")]
    UpstreamSessionsFull {
        /// The upstream's name.
        upstream: String,
        /// Its limit of client sessions.
        limit: usize,
    },
}

/// An error ready for the wire: the HTTP status, the JSON-RPC error and an optional
/// `Retry-After`.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON-RPC error object.
    pub error: ErrorObject,
    /// How long to wait before retrying, for quota denials.
    pub retry_after: Option<Duration>,
}

impl Rendered {
    /// A rendered error with no `Retry-After`.
    pub fn new(status: StatusCode, error: ErrorObject) -> Self {
        Rendered {
            status,
            error,
            retry_after: None,
        }
    }

    /// Renders any error: a [`Denied`] or an [`McpError`] found in its source chain, or else a
    /// generic internal error that leaks nothing (the cause is logged here, once).
    pub fn from_error(err: &(dyn Error + 'static)) -> Self {
        if let Some(denied) = Denied::find(err) {
            return Rendered::from_denied(denied);
        }
        if let Some(mcp) = cause_ref::<McpError>(err) {
            let status = match mcp {
                McpError::SessionNotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            };
            return Rendered::new(status, mcp.to_error_object());
        }
        tracing::error!(error = %err, "mcp: internal error");
        Rendered::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorObject::internal_error(),
        )
    }

    /// Renders a policy denial.
    pub fn from_denied(denied: &Denied) -> Self {
        let status = denied.http_status();
        let message = denied.message().to_owned();
        let (code, data) = match denied.kind() {
            DeniedKind::Unauthenticated => (CODE_UNAUTHENTICATED, None),
            DeniedKind::Forbidden => (CODE_FORBIDDEN, None),
            DeniedKind::QuotaExceeded { retry_after } => (
                CODE_QUOTA_EXCEEDED,
                Some(
                    json!({"retryAfterMs": u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX)}),
                ),
            ),
            DeniedKind::BudgetExhausted => (CODE_BUDGET_EXHAUSTED, None),
            DeniedKind::GuardrailBlocked { rule_id } => {
                (CODE_GUARDRAIL_BLOCKED, Some(json!({"rule": rule_id})))
            }
            DeniedKind::BadRequest => (ErrorObject::INVALID_PARAMS, None),
            DeniedKind::Unavailable => (CODE_POLICY_UNAVAILABLE, None),
            _ => (CODE_FORBIDDEN, None),
        };
        let mut error = ErrorObject::new(code, message);
        error.data = data;
        Rendered {
            status,
            error,
            retry_after: denied.retry_after(),
        }
    }
}

impl McpError {
    /// The JSON-RPC error object for this error.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            McpError::UnknownName { kind, name } => {
                ErrorObject::invalid_params(format!("Unknown {kind}: {name}"))
            }
            McpError::Upstream(e) => e.clone(),
            McpError::UpstreamUnavailable { upstream } => ErrorObject::new(
                CODE_UPSTREAM_UNAVAILABLE,
                format!("Upstream server '{upstream}' is unavailable"),
            )
            .with_data(json!({"upstream": upstream})),
            McpError::UpstreamTimeout { upstream, timeout } => ErrorObject::new(
                CODE_UPSTREAM_TIMEOUT,
                format!(
                    "Upstream server '{upstream}' did not answer within {} ms",
                    timeout.as_millis()
                ),
            )
            .with_data(json!({"upstream": upstream})),
            McpError::MethodNotFound(m) => ErrorObject::method_not_found(m),
            McpError::InvalidParams(d) => ErrorObject::invalid_params(d.clone()),
            McpError::Cancelled => ErrorObject::new(CODE_CANCELLED, "Request cancelled"),
            McpError::SessionNotFound => ErrorObject::invalid_request("Session not found"),
            McpError::UpstreamSessionsFull { upstream, limit } => ErrorObject::new(
                CODE_UPSTREAM_UNAVAILABLE,
                format!(
                    "Upstream server '{upstream}' has no room for another client session \
                     (limit {limit}): end a session or retry later"
                ),
            )
            .with_data(json!({"upstream": upstream, "limit": limit})),
            McpError::HeaderMismatch(d) => {
                ErrorObject::new(CODE_HEADER_MISMATCH, format!("Header mismatch: {d}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_gateway_core::BoxError;

    #[test]
    fn every_denial_kind_renders() {
        let cases: Vec<(Denied, u16, i64)> = vec![
            (Denied::unauthenticated("who"), 401, CODE_UNAUTHENTICATED),
            (Denied::forbidden("no"), 403, CODE_FORBIDDEN),
            (
                Denied::quota_exceeded(Duration::from_secs(2)),
                429,
                CODE_QUOTA_EXCEEDED,
            ),
            (
                Denied::budget_exhausted("spent"),
                402,
                CODE_BUDGET_EXHAUSTED,
            ),
            (
                Denied::guardrail_blocked("pii"),
                403,
                CODE_GUARDRAIL_BLOCKED,
            ),
            (Denied::bad_request("bad"), 400, ErrorObject::INVALID_PARAMS),
            (Denied::unavailable("down"), 503, CODE_POLICY_UNAVAILABLE),
        ];
        for (denied, status, code) in cases {
            let r = Rendered::from_denied(&denied);
            assert_eq!(
                (r.status.as_u16(), r.error.code),
                (status, code),
                "{denied}"
            );
        }
        let q = Rendered::from_denied(&Denied::quota_exceeded(Duration::from_secs(2)));
        assert_eq!(q.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(q.error.data, Some(json!({"retryAfterMs": 2000})));
        let g = Rendered::from_denied(&Denied::guardrail_blocked("pii"));
        assert_eq!(g.error.data, Some(json!({"rule": "pii"})));
    }

    #[test]
    fn unknown_errors_leak_nothing() {
        let err: BoxError = "db password is hunter2".into();
        let r = Rendered::from_error(err.as_ref());
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.error.code, ErrorObject::INTERNAL_ERROR);
        assert!(!r.error.message.contains("hunter2"));
    }
}
