//! [`UpstreamError`]: a call's error tagged as its upstream's doing, for audit and telemetry.

use std::error::Error;
use std::fmt;

use http::StatusCode;

use super::{Failure, ServedBy};
use crate::BoxError;
use crate::error::cause_ref;

/// What an upstream answered an error with: its HTTP status, its JSON-RPC error code, or both.
///
/// Only what the upstream itself sent: the status and code the client sees may differ (an MCP
/// upstream's HTTP 500 reaches the client as a JSON-RPC error in an HTTP 200).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpstreamCode {
    http: Option<StatusCode>,
    jsonrpc: Option<i64>,
}

impl UpstreamCode {
    /// The upstream answered with this HTTP status.
    pub fn http(status: StatusCode) -> Self {
        UpstreamCode {
            http: Some(status),
            jsonrpc: None,
        }
    }

    /// The upstream answered with a JSON-RPC error of this code.
    pub fn jsonrpc(code: i64) -> Self {
        UpstreamCode {
            http: None,
            jsonrpc: Some(code),
        }
    }

    /// Adds the HTTP status the JSON-RPC error came with, when it is not a success.
    pub fn with_http(mut self, status: StatusCode) -> Self {
        if !status.is_success() {
            self.http = Some(status);
        }
        self
    }

    /// The HTTP status, if the upstream answered with an error status.
    pub fn http_status(&self) -> Option<u16> {
        self.http.map(|s| s.as_u16())
    }

    /// The JSON-RPC error code, if the upstream answered with a JSON-RPC error.
    pub fn jsonrpc_code(&self) -> Option<i64> {
        self.jsonrpc
    }
}

/// An error a call failed with *because of its upstream* (the upstream
/// answered with an error status or a JSON-RPC error, went silent, or could not be reached),
/// tagged with what audit and telemetry need: the [`Failure`] it stands for, the upstream's own
/// [`UpstreamCode`], and which upstream and instance it was ([`ServedBy`]).
///
/// A protocol's router wraps its own error in it where the upstream's answer becomes that
/// error, and nowhere else: the gateway's own faults stay untagged, and audit records them
/// `internal`. The wrapper is transparent to everything else. It displays as the error it
/// wraps, and that error stays its [`source`](std::error::Error::source), so a front still
/// finds its protocol error with [`cause_ref`](crate::error::cause_ref).
///
/// ```
/// use agent_gateway_core::BoxError;
/// use agent_gateway_core::response::{Failure, ServedBy, UpstreamCode, UpstreamError};
/// use tower::{ServiceExt, service_fn};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("upstream answered 429")]
/// struct RateLimited;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let router = service_fn(|ok: bool| async move {
///     if ok { return Ok("answer"); }
///     let tagged = UpstreamError::new(Failure::Upstream, RateLimited)
///         .with_code(UpstreamCode::http(http::StatusCode::TOO_MANY_REQUESTS))
///         .with_served_by(ServedBy::new("openai").with_instance("gpt-4o"));
///     Err(BoxError::from(tagged))
/// });
/// // Allowed: nothing to tag.
/// assert_eq!(router.clone().oneshot(true).await.unwrap(), "answer");
/// // Failed upstream: the tag is found, and so is the protocol's own error beneath it.
/// let err = router.oneshot(false).await.unwrap_err();
/// let tag = UpstreamError::find(&*err).unwrap();
/// assert_eq!((tag.failure(), tag.code().unwrap().http_status()), (Failure::Upstream, Some(429)));
/// assert_eq!(tag.served_by().unwrap().instance(), Some("gpt-4o"));
/// assert!(agent_gateway_core::error::cause_ref::<RateLimited>(&*err).is_some());
/// assert_eq!(err.to_string(), "upstream answered 429");
/// # });
/// ```
#[derive(Debug)]
pub struct UpstreamError {
    failure: Failure,
    code: Option<UpstreamCode>,
    served: Option<ServedBy>,
    source: BoxError,
}

impl UpstreamError {
    /// Tags `source` (the protocol's own error) as the upstream's `failure`.
    pub fn new(failure: Failure, source: impl Into<BoxError>) -> Self {
        UpstreamError {
            failure,
            code: None,
            served: None,
            source: source.into(),
        }
    }

    /// Says what the upstream answered.
    pub fn with_code(mut self, code: UpstreamCode) -> Self {
        self.code = Some(code);
        self
    }

    /// Says which upstream, and which instance, it was.
    pub fn with_served_by(mut self, served: ServedBy) -> Self {
        self.served = Some(served);
        self
    }

    /// The failure it stands for: [`Failure::Upstream`] for an error answer,
    /// [`Failure::Timeout`] or [`Failure::Unavailable`] for no answer.
    pub fn failure(&self) -> Failure {
        self.failure
    }

    /// What the upstream answered, if it answered.
    pub fn code(&self) -> Option<UpstreamCode> {
        self.code
    }

    /// Which upstream and instance, if the router said.
    pub fn served_by(&self) -> Option<&ServedBy> {
        self.served.as_ref()
    }

    /// The tag in `error`'s chain of sources, if any.
    pub fn find<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a UpstreamError> {
        cause_ref::<UpstreamError>(error)
    }

    /// Names the upstream and instance on the tag `error` carries at its top, if it carries
    /// one there and it names none yet: what a router does once it knows where the call went.
    /// Any other error is returned as it is.
    pub fn served_by_on(error: BoxError, served: impl FnOnce() -> ServedBy) -> BoxError {
        match error.downcast::<UpstreamError>() {
            Ok(mut tagged) => {
                if tagged.served.is_none() {
                    tagged.served = Some(served());
                }
                tagged
            }
            Err(other) => other,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl Error for UpstreamError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_by_is_set_once_and_only_on_a_tag() {
        let tagged: BoxError = UpstreamError::new(Failure::Timeout, "slow").into();
        let tagged = UpstreamError::served_by_on(tagged, || ServedBy::new("a"));
        let tagged = UpstreamError::served_by_on(tagged, || ServedBy::new("b"));
        let tag = UpstreamError::find(&*tagged).unwrap();
        assert_eq!(tag.served_by().map(ServedBy::upstream), Some("a"));
        assert_eq!(tag.failure(), Failure::Timeout);
        let plain: BoxError = "the gateway's own fault".into();
        let plain = UpstreamError::served_by_on(plain, || ServedBy::new("a"));
        assert!(UpstreamError::find(&*plain).is_none());
        assert_eq!(plain.to_string(), "the gateway's own fault");
    }

    #[test]
    fn a_success_status_is_not_an_error_code() {
        let code = UpstreamCode::jsonrpc(-32601).with_http(StatusCode::OK);
        assert_eq!(
            (code.http_status(), code.jsonrpc_code()),
            (None, Some(-32601))
        );
        let code = UpstreamCode::jsonrpc(-32603).with_http(StatusCode::BAD_GATEWAY);
        assert_eq!(code.http_status(), Some(502));
    }
}
