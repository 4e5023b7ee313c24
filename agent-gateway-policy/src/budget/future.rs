//! [`Future`] types: the [`ResponseFuture`] of [`Budget`](super::Budget), which checks every
//! enclosing budget, runs the inner call, and charges its cost when the response ends.
//!
//! ```
//! use std::sync::Arc;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::MemoryStore;
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Cost, Denied, DeniedKind, Usage};
//! use agent_gateway_policy::budget::{BudgetLayer, Level, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let layer: BudgetLayer<Call> = BudgetLayer::new(Arc::new(MemoryStore::new()))
//!     .with_limit(Level::Key, Cost::from_nano_usd(1_000));
//! let mut svc = layer.layer(service_fn(|_: Call| async {
//!     Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step()))
//! }));
//! let call = |who: &str| Call::new(Action::ModelCall, json!({})).with_caller(Caller::new(who));
//! // Nothing spent yet: allowed.
//! let fut: ResponseFuture<_> = svc.ready().await.unwrap().call(call("ann"));
//! assert!(fut.await.is_ok());
//! // Without a caller there is no key to charge: refused (fail closed).
//! let anon = Call::new(Action::ModelCall, json!({}));
//! let err = svc.ready().await.unwrap().call(anon).await.unwrap_err();
//! assert_ne!(Denied::find(err.as_ref()).unwrap().kind(), &DeniedKind::BudgetExhausted);
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::{AgentResponse, BoxError, Usage};
use pin_project_lite::pin_project;

/// Charges the final usage to the call's budgets.
pub(super) type Charger = Box<dyn FnOnce(&Usage) + Send>;

/// The budget check, which ends by calling the inner service.
pub(super) type Admission<F> = Pin<Box<dyn Future<Output = Result<(F, Charger), BoxError>> + Send>>;

pin_project! {
    /// Response future of [`Budget`](super::Budget).
    ///
    /// It first checks every enclosing budget, then runs the inner service's future, and when
    /// that resolves registers the charge on the response's usage report.
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
            charger: Option<Charger>,
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
                    let (future, charger) = ready!(admission.as_mut().poll(cx))?;
                    this.state.set(State::Calling {
                        future,
                        charger: Some(charger),
                    });
                }
                StateProj::Calling { future, charger } => {
                    let response = ready!(future.poll(cx)).map_err(Into::into)?;
                    if let (Some(charger), Some(report)) = (charger.take(), response.usage_report())
                    {
                        report.on_complete(move |usage, _outcome| charger(usage));
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
