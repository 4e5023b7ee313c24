//! The one place where errors become wire responses, in the client's dialect.

use std::borrow::Cow;
use std::error::Error;
use std::time::Duration;

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::json;

use agent_gateway_core::error::cause_ref;
use agent_gateway_core::upstream::error::{CircuitOpen, NoHealthyInstance};
use agent_gateway_core::{Denied, DeniedKind};

use crate::error::{
    InvalidRequest, PayloadTooLarge, UnknownEndpoint, UnknownModel, UnsupportedApi,
    UnsupportedMediaType, UpstreamStatus, UpstreamTimeout, UpstreamUnavailable,
};
use crate::{Dialect, LlmBody};

/// An error as both dialects say it.
struct WireError {
    status: StatusCode,
    /// A different status for Anthropic clients, where their provider's convention differs.
    anthropic_status: Option<StatusCode>,
    openai_type: &'static str,
    anthropic_type: &'static str,
    code: Option<&'static str>,
    param: Option<Cow<'static, str>>,
    message: String,
    /// `Retry-After`, in whole seconds.
    retry_after: Option<HeaderValue>,
    /// `x-should-retry: false`: the OpenAI and Anthropic SDKs then skip their own retries.
    no_retry: bool,
}

impl WireError {
    fn new(
        status: StatusCode,
        openai_type: &'static str,
        anthropic_type: &'static str,
        message: impl Into<String>,
    ) -> Self {
        WireError {
            status,
            anthropic_status: None,
            openai_type,
            anthropic_type,
            code: None,
            param: None,
            message: message.into(),
            retry_after: None,
            no_retry: false,
        }
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn invalid(status: StatusCode, message: impl Into<String>) -> Self {
        WireError::new(
            status,
            "invalid_request_error",
            "invalid_request_error",
            message,
        )
    }
}

/// Renders `err` as an error response for a client of `dialect`: a denial found anywhere in
/// the source chain, this crate's error leaves, core's upstream refusals, and, for anything
/// else, a generic 500 that leaks nothing (the error is logged here, once).
///
/// | error | status | OpenAI `type` / `code` | Anthropic `type` |
/// |---|---|---|---|
/// | `Denied` unauthenticated | 401 | `invalid_request_error` / `invalid_api_key` | `authentication_error` |
/// | `Denied` forbidden | 403 | `invalid_request_error` / `permission_denied` | `permission_error` |
/// | `Denied` guardrail blocked | 403 | `invalid_request_error` / `guardrail_blocked` | `permission_error` |
/// | `Denied` quota exceeded | 429 + `Retry-After` | `rate_limit_error` / `rate_limit_exceeded` | `rate_limit_error` |
/// | `Denied` budget exhausted | OpenAI 429, Anthropic 402; `x-should-retry: false` | `insufficient_quota` / `insufficient_quota` | `billing_error` |
/// | `Denied` bad request | 400 | `invalid_request_error` | `invalid_request_error` |
/// | `Denied` unavailable, circuit open, no healthy instance | 503 | `server_error` | `api_error` |
/// | [`InvalidRequest`] | 400 | `invalid_request_error` (+ `param`) | `invalid_request_error` |
/// | [`PayloadTooLarge`] | 413 | `invalid_request_error` / `request_too_large` | `request_too_large` |
/// | [`UnsupportedMediaType`] | 415 | `invalid_request_error` | `invalid_request_error` |
/// | [`UnknownModel`] | 404 | `invalid_request_error` / `model_not_found` | `not_found_error` |
/// | [`UpstreamStatus`] 429 | 429 + upstream `Retry-After` (clamped) | `rate_limit_error` | `rate_limit_error` |
/// | [`UpstreamStatus`] other 4xx (not 401/403) | same | `invalid_request_error` | `invalid_request_error` (404 `not_found_error`, 413 `request_too_large`) |
/// | [`UpstreamTimeout`] | 504 | `server_error` / `timeout` | `timeout_error` |
/// | [`UpstreamStatus`] 529 (overloaded) | OpenAI 503, Anthropic 529 | `server_error` | `overloaded_error` |
/// | [`UpstreamStatus`] 401/403, other 5xx; [`UpstreamUnavailable`] | 502 | `server_error` | `api_error` |
/// | anything else | 500 | `server_error` | `api_error` |
///
/// A provider's error is reduced to its status, its type and a generic message: its own text
/// may name the operator's organisation and limits, or the real model behind an alias. The
/// relay logs that text (at `warn`) where it reads it.
///
/// A budget is exhausted until its period resets, so retrying is pointless. OpenAI itself
/// says so with 429 `insufficient_quota`, which is what OpenAI clients and dashboards expect;
/// Anthropic's own word is 402 `billing_error`. Each dialect gets its provider's convention,
/// plus `x-should-retry: false` so that neither SDK retries in a loop.
pub fn error_response(err: &(dyn Error + 'static), dialect: Dialect) -> http::Response<LlmBody> {
    let wire = classify(err);
    let body = match dialect {
        Dialect::Anthropic => json!({
            "type": "error",
            "error": {"type": wire.anthropic_type, "message": wire.message},
        }),
        _ => json!({
            "error": {"message": wire.message, "type": wire.openai_type, "param": wire.param, "code": wire.code},
        }),
    };
    let mut res = http::Response::new(LlmBody::full(body.to_string()));
    *res.status_mut() = match (dialect, wire.anthropic_status) {
        (Dialect::Anthropic, Some(status)) => status,
        _ => wire.status,
    };
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(after) = wire.retry_after {
        res.headers_mut().insert(RETRY_AFTER, after);
    }
    if wire.no_retry {
        res.headers_mut()
            .insert("x-should-retry", HeaderValue::from_static("false"));
    }
    res
}

/// A provider's `Retry-After`, relayed in whole seconds, rounded up, at least one.
fn whole_seconds(after: Duration) -> HeaderValue {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

fn classify(err: &(dyn Error + 'static)) -> WireError {
    if let Some(denied) = Denied::find(err) {
        return denied_error(denied);
    }
    if let Some(e) = cause_ref::<InvalidRequest>(err) {
        let mut w = WireError::invalid(StatusCode::BAD_REQUEST, e.to_string());
        w.param = e.param().map(|p| Cow::Owned(p.to_owned()));
        return w;
    }
    if let Some(e) = cause_ref::<PayloadTooLarge>(err) {
        return WireError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            e.to_string(),
        )
        .code("request_too_large");
    }
    if let Some(e) = cause_ref::<UnsupportedMediaType>(err) {
        return WireError::invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string());
    }
    if let Some(e) = cause_ref::<UnknownEndpoint>(err) {
        let status = if e.method_not_allowed {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_FOUND
        };
        let msg = if e.method_not_allowed {
            "method not allowed on this endpoint"
        } else {
            "unknown endpoint"
        };
        return WireError::new(status, "invalid_request_error", "not_found_error", msg)
            .code("unknown_url");
    }
    if let Some(e) = cause_ref::<UnknownModel>(err) {
        let mut w = WireError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found_error",
            e.to_string(),
        )
        .code("model_not_found");
        w.param = Some(Cow::Borrowed("model"));
        return w;
    }
    if let Some(e) = cause_ref::<UnsupportedApi>(err) {
        let mut w = WireError::invalid(StatusCode::BAD_REQUEST, e.to_string());
        w.param = Some(Cow::Borrowed("model"));
        return w;
    }
    if let Some(e) = cause_ref::<UpstreamStatus>(err) {
        return upstream_error(e);
    }
    if let Some(e) = cause_ref::<UpstreamTimeout>(err) {
        tracing::warn!(error = %e, "llm front: upstream timed out");
        return WireError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "server_error",
            "timeout_error",
            "the upstream provider did not answer in time",
        )
        .code("timeout");
    }
    if cause_ref::<UpstreamUnavailable>(err).is_some() {
        return WireError::new(
            StatusCode::BAD_GATEWAY,
            "server_error",
            "api_error",
            "the upstream provider is unavailable",
        );
    }
    if cause_ref::<CircuitOpen>(err).is_some() || cause_ref::<NoHealthyInstance>(err).is_some() {
        return WireError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "api_error",
            "no provider is available for this model",
        );
    }
    tracing::error!(error = %err, "llm front: internal error");
    WireError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "api_error",
        "internal error",
    )
}

fn denied_error(denied: &Denied) -> WireError {
    let msg = denied.message().to_owned();
    match denied.kind() {
        DeniedKind::Unauthenticated => WireError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "authentication_error",
            msg,
        )
        .code("invalid_api_key"),
        DeniedKind::Forbidden => WireError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "permission_error",
            msg,
        )
        .code("permission_denied"),
        DeniedKind::GuardrailBlocked { .. } => WireError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "permission_error",
            msg,
        )
        .code("guardrail_blocked"),
        DeniedKind::QuotaExceeded { .. } => {
            let mut w = WireError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate_limit_error",
                msg,
            )
            .code("rate_limit_exceeded");
            // Core's rendering: rounded up, clamped as every front does.
            w.retry_after = denied.retry_after_header();
            w
        }
        DeniedKind::BudgetExhausted => {
            // OpenAI's convention is 429, Anthropic's 402; see `error_response`.
            let mut w = WireError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                "billing_error",
                msg,
            )
            .code("insufficient_quota");
            w.anthropic_status = Some(StatusCode::PAYMENT_REQUIRED);
            w.no_retry = true;
            w
        }
        DeniedKind::BadRequest => WireError::invalid(StatusCode::BAD_REQUEST, msg),
        DeniedKind::Unavailable => WireError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "api_error",
            msg,
        ),
        _ => WireError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "permission_error",
            msg,
        ),
    }
}

/// A provider's error, reduced to its status, its type and a generic message: the provider's
/// own text can name the operator's organisation, its limits or the real model behind an
/// alias (finding 22), so it goes to the log (at the relay), never to the client.
fn upstream_error(e: &UpstreamStatus) -> WireError {
    let status = e.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let mut w = WireError::new(
            status,
            "rate_limit_error",
            "rate_limit_error",
            "the upstream provider is rate limiting requests; retry later",
        )
        .code("rate_limit_exceeded");
        w.retry_after = e.retry_after().map(whole_seconds);
        return w;
    }
    if status.is_client_error()
        && status != StatusCode::UNAUTHORIZED
        && status != StatusCode::FORBIDDEN
    {
        let (anthropic, message) = match status {
            StatusCode::NOT_FOUND => ("not_found_error", "the model was not found upstream"),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "request_too_large",
                "the request is too large for the upstream provider",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "invalid_request_error",
                "the upstream provider timed out reading the request",
            ),
            _ => (
                "invalid_request_error",
                "the upstream provider rejected the request",
            ),
        };
        return WireError::new(status, "invalid_request_error", anthropic, message);
    }
    if status.as_u16() == 529 {
        let mut w = WireError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "overloaded_error",
            "the upstream provider is overloaded",
        );
        w.anthropic_status = Some(status);
        return w;
    }
    // The provider refused the gateway's own credential, or failed: not the client's doing.
    WireError::new(
        StatusCode::BAD_GATEWAY,
        "server_error",
        "api_error",
        "the upstream provider failed",
    )
}
