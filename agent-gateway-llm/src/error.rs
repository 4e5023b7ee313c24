//! The crate's small error leaves; the front finds them in an error's source chain and
//! renders them in the client's dialect.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_llm::error::{UnknownModel, UpstreamStatus};
//! use http::StatusCode;
//!
//! let err: BoxError = Box::new(UnknownModel::new("gpt-9"));
//! assert_eq!(err.to_string(), "the model `gpt-9` does not exist or you do not have access to it");
//! assert!(err.downcast_ref::<UnknownModel>().is_some());
//!
//! let upstream = UpstreamStatus::new(StatusCode::TOO_MANY_REQUESTS, "slow down");
//! assert!(upstream.is_retryable());
//! assert!(!UpstreamStatus::new(StatusCode::BAD_REQUEST, "bad").is_retryable());
//! ```

use std::borrow::Cow;
use std::time::Duration;

use http::StatusCode;

/// The request body is not a valid request of its API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    message: Cow<'static, str>,
    param: Option<Cow<'static, str>>,
}

impl InvalidRequest {
    /// An invalid request, with a message for the client.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        InvalidRequest {
            message: message.into(),
            param: None,
        }
    }

    /// Names the parameter at fault (a request field, possibly one the gateway does not know,
    /// such as a field a translation cannot express).
    pub fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The parameter at fault, if known.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }
}

/// The request body is larger than the front's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body exceeds the limit of {limit} bytes")]
pub struct PayloadTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// The request body is not declared as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body must be JSON, sent with `Content-Type: application/json`")]
pub struct UnsupportedMediaType;

/// No route for this method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown endpoint")]
pub struct UnknownEndpoint {
    /// Whether the path is known and only the method is wrong.
    pub method_not_allowed: bool,
}

/// No deployment serves this model alias.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model `{alias}` does not exist or you do not have access to it")]
pub struct UnknownModel {
    alias: String,
}

impl UnknownModel {
    /// The alias that is not configured.
    pub fn new(alias: impl Into<String>) -> Self {
        UnknownModel {
            alias: alias.into(),
        }
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }
}

/// The deployment's provider does not speak the API the client used, and no translation
/// between them exists yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model `{alias}` is not served over the {api} API")]
pub struct UnsupportedApi {
    /// The model alias.
    pub alias: String,
    /// The API the client used.
    pub api: &'static str,
}

/// The provider answered with an error status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upstream answered {status}: {message}")]
pub struct UpstreamStatus {
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
}

impl UpstreamStatus {
    /// An upstream error with its status and the message from its body.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UpstreamStatus {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Sets the upstream's `Retry-After`.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The upstream status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The upstream's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The upstream's `Retry-After`, if it sent one in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether another deployment may succeed: 408, 429 and 5xx (Anthropic's 529 included).
    pub fn is_retryable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::REQUEST_TIMEOUT
            || self.status.is_server_error()
    }
}

/// The provider did not answer in time: no response headers within the deployment's
/// `timeout`, or a stream (or a body) silent for longer than its `stream_idle` timeout.
///
/// Rendered as 504 in the client's dialect; the router falls back to another deployment when
/// the headers timed out (a stream's bytes may have reached the client already, so a stalled
/// stream ends with its dialect's error event instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("upstream {phase} timed out after {after:?}")]
#[non_exhaustive]
pub struct UpstreamTimeout {
    /// What timed out: `"response"` (waiting for the headers) or `"stream"` (silent body).
    pub phase: &'static str,
    /// The timeout that elapsed.
    pub after: Duration,
}

/// The provider could not be reached, or its answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("upstream unavailable")]
pub struct UpstreamUnavailable {
    #[source]
    source: agent_gateway_core::BoxError,
}

impl UpstreamUnavailable {
    /// Wraps the transport error.
    pub fn new(source: impl Into<agent_gateway_core::BoxError>) -> Self {
        UpstreamUnavailable {
            source: source.into(),
        }
    }
}
