//! A circuit breaker: stop calling an upstream that keeps failing, and probe it back to health.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//! use agent_gateway_core::clock::ManualClock;
//! use agent_gateway_core::upstream::breaker::{BreakerConfig, BreakerState, CircuitBreakerLayer, CircuitOpen};
//! use agent_gateway_core::upstream::error::find;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clock = ManualClock::new();
//! let config = BreakerConfig::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(10));
//! let layer = CircuitBreakerLayer::new(config).with_clock(clock.shared());
//! let calls = Arc::new(AtomicUsize::new(0));
//! let upstream = |fail: bool| {
//!     let calls = calls.clone();
//!     ServiceBuilder::new().layer(layer.clone()).service(service_fn(move |_: ()| {
//!         calls.fetch_add(1, Ordering::SeqCst);
//!         async move { if fail { Err("upstream down") } else { Ok("pong") } }
//!     }))
//! };
//!
//! // Allowed: a closed breaker lets calls through.
//! assert_eq!(upstream(false).oneshot(()).await.unwrap(), "pong");
//! // Two consecutive failures open it...
//! assert!(upstream(true).oneshot(()).await.is_err());
//! assert!(upstream(true).oneshot(()).await.is_err());
//! assert_eq!(layer.breaker().state(), BreakerState::Open);
//! // ...and then calls are denied at once, without reaching the upstream.
//! let err = upstream(false).oneshot(()).await.unwrap_err();
//! let open = find::<CircuitOpen>(&*err).unwrap();
//! assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));
//! assert_eq!(calls.load(Ordering::SeqCst), 3);
//!
//! // After the cooldown one probe goes through; its success closes the breaker.
//! clock.advance(Duration::from_secs(10));
//! assert_eq!(upstream(false).oneshot(()).await.unwrap(), "pong");
//! assert_eq!(layer.breaker().state(), BreakerState::Closed);
//! # }
//! ```
//!
//! # Why
//!
//! An upstream that is down answers slowly or not at all. Calling it anyway holds a request,
//! a connection and a timeout's worth of the caller's patience for every call, and the extra
//! load keeps a struggling upstream from recovering. The breaker turns a known-bad upstream
//! into an immediate, typed [`CircuitOpen`], and lets a few probes decide when it is healthy
//! again.
//!
//! The decision is made in `call`, never by returning `Pending` from `poll_ready`: routers
//! ignore readiness, and a caller waiting on a readiness that only time can bring would hang
//! instead of failing fast. Inside a [`Balanced`](crate::upstream::balance::Balanced)
//! service the instances' breakers are consulted before a pick, so an open instance is simply
//! skipped.

pub mod future;

mod error;
mod layer;
mod state;
#[cfg(test)]
mod tests;

use std::fmt;
use std::task::{Context, Poll};

use tower::Service;

pub use self::error::CircuitOpen;
pub use self::layer::CircuitBreakerLayer;
pub(crate) use self::state::Admission;
pub use self::state::{Breaker, BreakerConfig, BreakerState, Permit};

use self::future::ResponseFuture;
use crate::BoxError;
use crate::upstream::classify::{Classify, ErrorsAsFailures};

/// Rejects calls with [`CircuitOpen`] while its [`Breaker`] is open, and reports the outcome
/// of every call it lets through to the breaker.
#[derive(Clone)]
pub struct CircuitBreaker<S, C = ErrorsAsFailures> {
    inner: S,
    breaker: Breaker,
    classifier: C,
}

impl<S> CircuitBreaker<S> {
    /// Guards `inner` with `breaker`, counting every `Err` as a failure.
    pub fn new(inner: S, breaker: Breaker) -> Self {
        CircuitBreaker {
            inner,
            breaker,
            classifier: ErrorsAsFailures,
        }
    }
}

impl<S, C> CircuitBreaker<S, C> {
    /// Decides what counts as a failure with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> CircuitBreaker<S, C2> {
        CircuitBreaker {
            inner: self.inner,
            breaker: self.breaker,
            classifier,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// A reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, Req> Service<Req> for CircuitBreaker<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.breaker.try_acquire() {
            Ok(permit) => {
                ResponseFuture::called(self.inner.call(req), permit, self.classifier.clone())
            }
            Err(open) => ResponseFuture::open(open, self.classifier.clone()),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CircuitBreaker<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}
