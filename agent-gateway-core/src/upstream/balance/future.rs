//! [`Future`] types: the [`ResponseFuture`] of [`Balanced`](super::Balanced) and
//! [`Pinned`](super::Pinned), which reports each call's outcome and latency to the instance
//! that served it.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_core::upstream::balance::future::ResponseFuture;
//! use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
//! use tower::{Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let echo = service_fn(|n: u32| async move {
//!     if n > 0 { Ok::<_, BoxError>(n) } else { Err(BoxError::from("zero")) }
//! });
//! let registry = Registry::builder()
//!     .instance(UpstreamName::new("calc").unwrap(), InstanceId::new("a").unwrap(), echo)
//!     .build()
//!     .unwrap();
//! let mut svc = registry.balanced("calc").unwrap();
//! let ok: ResponseFuture<_, _> = svc.ready().await.unwrap().call(7);
//! assert_eq!(ok.await.unwrap(), 7);
//! let failed = svc.ready().await.unwrap().call(0).await.unwrap_err();
//! assert_eq!(failed.to_string(), "zero");
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use tower::Service;

use crate::BoxError;
use crate::upstream::breaker::Permit;
use crate::upstream::classify::Classify;
use crate::upstream::load::InFlight;
use crate::upstream::registry::Upstream;

pin_project! {
    /// Response future of [`Balanced`](super::Balanced) and [`Pinned`](super::Pinned).
    ///
    /// When the call ends it reports the outcome to the chosen instance's breaker and its
    /// latency to the instance's estimate. Dropped early, it only frees what it held: the
    /// in-flight count and, for a probe, the breaker's probe slot.
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F>,
        track: Option<Track<C>>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called {
            #[pin]
            future: F,
        },
        Failed {
            error: Option<BoxError>,
        },
    }
}

struct Track<C> {
    permit: Permit,
    in_flight: InFlight,
    classifier: C,
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(future: F, permit: Permit, in_flight: InFlight, classifier: C) -> Self {
        ResponseFuture {
            kind: Kind::Called { future },
            track: Some(Track {
                permit,
                in_flight,
                classifier,
            }),
        }
    }

    pub(crate) fn failed(error: BoxError) -> Self {
        ResponseFuture {
            kind: Kind::Failed { error: Some(error) },
            track: None,
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
                if let Some(track) = this.track.take() {
                    track.permit.report(track.classifier.is_failure(&result));
                    track.in_flight.finish();
                }
                Poll::Ready(result.map_err(Into::into))
            }
            KindProj::Failed { error } => match error.take() {
                Some(error) => Poll::Ready(Err(error)),
                None => panic!("polled after completion"),
            },
        }
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Called { .. } => "called",
            Kind::Failed { .. } => "failed",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The call of one instance: a clone of its service (a spare one when there is one) driven
    /// to readiness and called, then handed back to the instance for a later call, as
    /// [`Oneshot`](tower::util::Oneshot) would do but without dropping the clone.
    pub struct InstanceCall<S, Req, F> {
        #[pin]
        state: CallState<S, Req, F>,
    }
}

pin_project! {
    #[project = CallStateProj]
    enum CallState<S, Req, F> {
        NotReady {
            service: Option<(S, Req)>,
            upstream: Upstream<S>,
            index: usize,
        },
        Called {
            #[pin]
            future: F,
        },
    }
}

impl<S, Req, F> InstanceCall<S, Req, F> {
    /// A call of instance `index` of `upstream` with `req`.
    pub(crate) fn new(upstream: &Upstream<S>, index: usize, req: Req) -> Self
    where
        S: Clone,
    {
        let service = upstream.instances()[index].take_service();
        InstanceCall {
            state: CallState::NotReady {
                service: Some((service, req)),
                upstream: upstream.clone(),
                index,
            },
        }
    }
}

impl<S, Req> Future for InstanceCall<S, Req, S::Future>
where
    S: Service<Req>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                CallStateProj::NotReady {
                    service,
                    upstream,
                    index,
                } => {
                    let Some((svc, _)) = service.as_mut() else {
                        panic!("polled after completion");
                    };
                    // A service that fails to get ready is dropped, not handed back.
                    ready!(svc.poll_ready(cx))?;
                    let Some((mut svc, req)) = service.take() else {
                        panic!("polled after completion");
                    };
                    let future = svc.call(req);
                    upstream.instances()[*index].give_back(svc);
                    this.state.set(CallState::Called { future });
                }
                CallStateProj::Called { future } => return future.poll(cx),
            }
        }
    }
}

impl<S, Req, F> fmt::Debug for InstanceCall<S, Req, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            CallState::NotReady { .. } => "not ready",
            CallState::Called { .. } => "called",
        };
        f.debug_struct("InstanceCall")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
