//! What counts as a failed call, for the circuit breaker, the balancer and the retry policy.
//!
//! A classifier looks at the whole `Result`, so a response that arrived can still be a
//! failure: an HTTP 503 or 429 from an upstream means it is not healthy, even though the call
//! itself returned `Ok`.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::upstream::breaker::{BreakerConfig, CircuitBreakerLayer, CircuitOpen};
//! use agent_gateway_core::upstream::classify::ErrorsOrResponse;
//! use agent_gateway_core::upstream::error::find;
//! use http::StatusCode;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let config = BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(10));
//! let layer = CircuitBreakerLayer::new(config)
//!     // Any error, and any 5xx response, is a failure.
//!     .with_classifier(ErrorsOrResponse::new(|status: &StatusCode| status.is_server_error()));
//! let upstream = |status: StatusCode| {
//!     ServiceBuilder::new()
//!         .layer(layer.clone())
//!         .service(service_fn(move |_: ()| async move { Ok::<_, std::io::Error>(status) }))
//! };
//!
//! // A 200 is a success: the breaker stays closed.
//! assert_eq!(upstream(StatusCode::OK).oneshot(()).await.unwrap(), StatusCode::OK);
//! // A 503 is returned to the caller, and counted: with a threshold of one the breaker opens.
//! let status = upstream(StatusCode::SERVICE_UNAVAILABLE).oneshot(()).await.unwrap();
//! assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
//! let err = upstream(StatusCode::OK).oneshot(()).await.unwrap_err();
//! assert!(find::<CircuitOpen>(&*err).is_some());
//! # }
//! ```

/// Decides whether the outcome of a call is a failure.
///
/// Implemented for every `Fn(&Result<Resp, E>) -> bool`. Annotate the closure's argument
/// (`|result: &Result<_, _>| ...`) so that it accepts a reference of any lifetime.
///
/// A classifier that looks at responses should count errors too: a timeout
/// ([`Elapsed`](super::timeout::Elapsed)) arrives as an `Err`, and is exactly the failure a
/// breaker exists to notice. [`ErrorsOrResponse`] does this for you.
pub trait Classify<Resp, E> {
    /// Whether `result` is a failure.
    fn is_failure(&self, result: &Result<Resp, E>) -> bool;
}

impl<F, Resp, E> Classify<Resp, E> for F
where
    F: Fn(&Result<Resp, E>) -> bool,
{
    fn is_failure(&self, result: &Result<Resp, E>) -> bool {
        self(result)
    }
}

/// The default classifier: every `Err` is a failure, every `Ok` a success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorsAsFailures;

impl<Resp, E> Classify<Resp, E> for ErrorsAsFailures {
    fn is_failure(&self, result: &Result<Resp, E>) -> bool {
        result.is_err()
    }
}

/// Every `Err` is a failure, and so is every `Ok` response for which the predicate holds.
///
/// ```
/// use agent_gateway_core::upstream::classify::{Classify, ErrorsOrResponse};
///
/// let classify = ErrorsOrResponse::new(|status: &u16| *status >= 500 || *status == 429);
/// assert!(!classify.is_failure(&Ok::<u16, ()>(200)));
/// assert!(classify.is_failure(&Ok::<u16, ()>(429)));
/// assert!(classify.is_failure(&Err::<u16, ()>(())));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorsOrResponse<F> {
    predicate: F,
}

impl<F> ErrorsOrResponse<F> {
    /// Counts errors, and the responses for which `predicate` returns true, as failures.
    pub fn new(predicate: F) -> Self {
        ErrorsOrResponse { predicate }
    }
}

impl<F, Resp, E> Classify<Resp, E> for ErrorsOrResponse<F>
where
    F: Fn(&Resp) -> bool,
{
    fn is_failure(&self, result: &Result<Resp, E>) -> bool {
        match result {
            Ok(response) => (self.predicate)(response),
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify<C: Classify<u16, &'static str>>(c: &C, r: Result<u16, &'static str>) -> bool {
        c.is_failure(&r)
    }

    #[test]
    fn default_counts_errors_only() {
        assert!(!classify(&ErrorsAsFailures, Ok(503)));
        assert!(classify(&ErrorsAsFailures, Err("boom")));
    }

    #[test]
    fn closures_see_the_whole_result() {
        let only_boom = |r: &Result<u16, &'static str>| matches!(r, Err("boom"));
        assert!(classify(&only_boom, Err("boom")));
        assert!(!classify(&only_boom, Err("other")));
        assert!(!classify(&only_boom, Ok(500)));
    }

    #[test]
    fn errors_or_response() {
        let c = ErrorsOrResponse::new(|s: &u16| *s >= 500);
        assert!(!classify(&c, Ok(200)));
        assert!(classify(&c, Ok(503)));
        assert!(classify(&c, Err("timeout")));
    }
}
