//! Admit, call, settle: the response future shared by every layer that admits a request against
//! a store before the call and settles against the response's usage report after it.
//!
//! [`Quota`](crate::quota::Quota) and [`Budget`](crate::budget::Budget) both decide
//! asynchronously (the store may be Redis), call the inner service only once admitted, and
//! can only account for a call when its usage is known, which for a stream is when the stream
//! ends. [`ResponseFuture`] is that sequence written once: an [`Admission`] future yields the
//! inner call's future and an optional [`OnUsage`] hook, which is registered on the response's
//! [`UsageReport`](agent_gateway_core::UsageReport) when the response arrives.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{BoxError, Denied, Usage};
//! use agent_gateway_policy::admit::{OnUsage, ResponseFuture};
//! use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let steps = Arc::new(AtomicU64::new(0));
//! let seen = steps.clone();
//! let on_usage: OnUsage = Box::new(move |usage: &Usage| { seen.fetch_add(usage.steps, Ordering::Relaxed); });
//! // Admitted: the call runs and its usage is settled.
//! let call = async { Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step())) };
//! let fut = ResponseFuture::new(Box::pin(async move { Ok::<_, BoxError>((call, Some(on_usage))) }));
//! assert_eq!(fut.await.unwrap().into_output(), json!("ok"));
//! assert_eq!(steps.load(Ordering::Relaxed), 1);
//! // Refused: the admission fails, so there is no call to run.
//! type Call = std::future::Ready<Result<Reply, BoxError>>;
//! let refused: ResponseFuture<Call> =
//!     ResponseFuture::new(Box::pin(async { Err(Denied::forbidden("no").into()) }));
//! assert!(Denied::find(refused.await.unwrap_err().as_ref()).is_some());
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::{AgentResponse, BoxError, Usage};
use pin_project_lite::pin_project;
use tower::Service;

use crate::decided::{self, Listing};

/// What settles a call once its final usage is known: a token quota's reconciliation, a
/// budget's charge. Runs at most once, from the usage report's completion.
pub type OnUsage = Box<dyn FnOnce(&Usage) + Send>;

/// The admission decision, which ends with the inner call's future (the inner service has been
/// called) and what to settle on the response's usage, if anything.
pub type Admission<F> =
    Pin<Box<dyn Future<Output = Result<(F, Option<OnUsage>), BoxError>> + Send>>;

pin_project! {
    /// Admits, then runs the inner call, then registers the settlement on the response's usage
    /// report; see the [module docs](self).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
        listing: Option<Listing>,
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
            on_usage: Option<OnUsage>,
        },
    }
}

impl<F> ResponseFuture<F> {
    /// A future that first runs `admission`.
    pub fn new(admission: Admission<F>) -> Self {
        ResponseFuture {
            state: State::Admitting { admission },
            listing: None,
        }
    }

    /// The inner call's `future` as it is, for a layer with nothing to admit (a pass-through
    /// step of a [`PolicyStack`](crate::stack::PolicyStack)): no allocation, nothing settled.
    pub(crate) fn passed(future: F) -> Self {
        ResponseFuture {
            state: State::Calling {
                future,
                on_usage: None,
            },
            listing: None,
        }
    }

    /// Also filters the response with `listing` when it arrives.
    pub(crate) fn with_listing(mut self, listing: Option<Listing>) -> Self {
        self.listing = listing;
        self
    }
}

/// The `call` of a service whose future admits before calling: `admission` decides and returns
/// what to settle on the usage, then `inner` is called with `req`.
pub(crate) fn call<S, R, A>(inner: &mut S, req: R, admission: A) -> ResponseFuture<S::Future>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    R: Send + 'static,
    A: Future<Output = Result<Option<OnUsage>, BoxError>> + Send + 'static,
{
    call_with(
        inner,
        req,
        move |req| async move { Ok((req, admission.await?)) },
    )
}

/// [`call`] for an admission that owns the request while it decides, and may add to it (the
/// run layer's signed header for the next hop) before handing it back with what to settle.
///
/// The future owns the instance of `inner` made ready by `poll_ready`; `inner` keeps a fresh
/// clone, as tower's guides advise.
pub(crate) fn call_with<S, R, A, F>(
    inner: &mut S,
    req: R,
    admission: A,
) -> ResponseFuture<S::Future>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    A: FnOnce(R) -> F,
    F: Future<Output = Result<(R, Option<OnUsage>), BoxError>> + Send + 'static,
{
    let clone = inner.clone();
    let mut inner = std::mem::replace(inner, clone);
    let admission = admission(req);
    ResponseFuture::new(Box::pin(async move {
        let (req, on_usage) = admission.await?;
        Ok((inner.call(req), on_usage))
    }))
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
                    let (future, on_usage) = ready!(admission.as_mut().poll(cx))?;
                    this.state.set(State::Calling { future, on_usage });
                }
                StateProj::Calling { future, on_usage } => {
                    let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                    decided::filter(&mut response, this.listing.take());
                    if let (Some(on_usage), Some(report)) =
                        (on_usage.take(), response.usage_report())
                    {
                        report.on_complete(move |usage, _outcome| on_usage(usage));
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
