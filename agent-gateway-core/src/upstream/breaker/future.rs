//! [`Future`] types: the [`ResponseFuture`] of [`CircuitBreaker`](super::CircuitBreaker),
//! which classifies the inner result and reports it to the breaker.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::{BoxError, ManualClock};
//! use agent_gateway_core::upstream::breaker::{Breaker, BreakerConfig, CircuitBreaker, CircuitOpen};
//! use agent_gateway_core::upstream::breaker::future::ResponseFuture;
//! use agent_gateway_core::upstream::error::find;
//! use tower::{Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = ManualClock::new();
//! let breaker = Breaker::new(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(5)), clock.shared());
//! let flaky = service_fn(|ok: bool| async move {
//!     if ok { Ok::<_, BoxError>("served") } else { Err(BoxError::from("502")) }
//! });
//! let mut svc = CircuitBreaker::new(flaky, breaker);
//! let fut: ResponseFuture<_, _> = svc.ready().await.unwrap().call(true);
//! assert_eq!(fut.await.unwrap(), "served");
//! // One failure opens this breaker; the next call is refused without reaching the service.
//! assert!(svc.ready().await.unwrap().call(false).await.is_err());
//! let refused = svc.ready().await.unwrap().call(true).await.unwrap_err();
//! assert!(find::<CircuitOpen>(&*refused).is_some());
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::error::CircuitOpen;
use super::state::Permit;
use crate::BoxError;
use crate::upstream::classify::Classify;

pin_project! {
    /// Response future of [`CircuitBreaker`](super::CircuitBreaker).
    ///
    /// It classifies the inner result and reports it to the breaker when the call ends.
    #[derive(Debug)]
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F>,
        classifier: C,
        permit: Option<Permit>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Called {
            #[pin]
            future: F,
        },
        Open {
            error: Option<CircuitOpen>,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(future: F, permit: Permit, classifier: C) -> Self {
        ResponseFuture {
            kind: Kind::Called { future },
            classifier,
            permit: Some(permit),
        }
    }

    pub(crate) fn open(error: CircuitOpen, classifier: C) -> Self {
        ResponseFuture {
            kind: Kind::Open { error: Some(error) },
            classifier,
            permit: None,
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.kind.project() {
            KindProj::Called { future } => {
                let result = ready!(future.poll(cx));
                if let Some(permit) = this.permit.take() {
                    permit.report(this.classifier.is_failure(&result));
                }
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Open { error } => match error.take() {
                Some(error) => Poll::Ready(Err(error.into())),
                None => panic!("polled after completion"),
            },
        }
    }
}
