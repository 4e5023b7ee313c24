//! [`Future`] types: the [`ResponseFuture`] of [`Quota`](super::Quota), which asks the store
//! first and calls the inner service only when every limit admits the request.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::sync::Arc;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Denied};
//! use agent_gateway_policy::key::Subject;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let layer = QuotaLayer::new(Arc::new(MemoryStore::new()))
//!     .with_limit(Limit::requests("one", Subject, Rate::per_hour(NonZeroU64::MIN)));
//! let mut svc = layer.layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("ok"))) }));
//! let call = || Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("ann"));
//! let first: ResponseFuture<_> = svc.ready().await.unwrap().call(call());
//! assert!(first.await.is_ok());
//! let second = svc.ready().await.unwrap().call(call()).await.unwrap_err();
//! assert!(Denied::find(second.as_ref()).unwrap().retry_after().is_some());
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::{AgentResponse, BoxError};
use pin_project_lite::pin_project;

use super::admit::Settlement;

/// The admission decision, which ends by calling the inner service.
pub(super) type Admission<F> =
    Pin<Box<dyn Future<Output = Result<(F, Vec<Settlement>), BoxError>> + Send>>;

pin_project! {
    /// Response future of [`Quota`](super::Quota).
    ///
    /// It first asks the store whether the request is within every limit, then runs the inner
    /// service's future, and when that resolves registers the settlement of token estimates on
    /// the response's usage report.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Admitting {
            admission: Admission<F>,
        },
        Calling {
            #[pin]
            future: F,
            settlements: Vec<Settlement>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(admission: Admission<F>) -> Self {
        ResponseFuture {
            state: State::Admitting { admission },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    T: AgentResponse,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Admitting { admission } => {
                    let (future, settlements) = ready!(admission.as_mut().poll(cx))?;
                    this.state.set(State::Calling {
                        future,
                        settlements,
                    });
                }
                StateProj::Calling {
                    future,
                    settlements,
                } => {
                    let response = ready!(future.poll(cx)).map_err(Into::into)?;
                    let settlements = std::mem::take(settlements);
                    if !settlements.is_empty()
                        && let Some(report) = response.usage_report()
                    {
                        report.on_complete(move |usage, _outcome| {
                            for settlement in settlements {
                                settlement.settle(usage);
                            }
                        });
                    }
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Admitting { .. } => "admitting",
            State::Calling { .. } => "calling",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
