//! The asynchronous twin of [`Check`](super::Check).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::response::Item;
use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Caller, Denied};
use tower::{Layer, Service};

use super::ItemFilter;
use crate::admit::{self, ResponseFuture};
use crate::decided;

/// Decides, asynchronously, whether a request may pass.
///
/// The request moves on to the inner service once the check is decided, so the future cannot
/// borrow it: a closure reads what it needs first and returns a `'static` future. Implemented
/// for every closure `Fn(&dyn AgentRequest) -> impl Future<Output = Result<(), Denied>>`.
///
/// ```
/// use agent_gateway_core::response::Reply;
/// use agent_gateway_core::testkit::FakeUpstream;
/// use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied};
/// use agent_gateway_policy::check::AsyncCheckLayer;
/// use serde_json::json;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // Stands in for a call to an entitlement service.
/// async fn entitled(model: Option<String>) -> bool { model.as_deref() == Some("small") }
/// let layer = AsyncCheckLayer::new(|req: &dyn AgentRequest| {
///     let model = req.target().map(str::to_owned);
///     async move {
///         if entitled(model).await { Ok(()) } else { Err(Denied::forbidden("not entitled")) }
///     }
/// });
/// let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("hi"))));
/// let svc = ServiceBuilder::new().layer(layer).service(upstream.clone());
/// let call = |m: &str| Call::new(Action::ModelCall, json!({})).with_target(m);
/// assert!(svc.clone().oneshot(call("small")).await.is_ok());
/// let err = svc.clone().oneshot(call("large")).await.unwrap_err();
/// assert!(Denied::find(err.as_ref()).is_some());
/// assert_eq!(upstream.calls(), 1);
/// # });
/// ```
pub trait AsyncCheck: Send + Sync + 'static {
    /// The decision, `Ok(())` to let the request through.
    type Future: Future<Output = Result<(), Denied>> + Send + 'static;

    /// Starts deciding on `req`.
    fn check(&self, req: &dyn AgentRequest) -> Self::Future;
}

impl<F, Fut> AsyncCheck for F
where
    F: Fn(&dyn AgentRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Denied>> + Send + 'static,
{
    type Future = Fut;

    fn check(&self, req: &dyn AgentRequest) -> Fut {
        self(req)
    }
}

/// Runs an [`AsyncCheck`], and optionally filters listings, through an [`AsyncChecked`]
/// service.
#[must_use]
pub struct AsyncCheckLayer<C> {
    check: Arc<C>,
    items: Option<ItemFilter>,
}

impl<C: AsyncCheck> AsyncCheckLayer<C> {
    /// A layer running `check` before the inner service.
    pub fn new(check: C) -> Self {
        AsyncCheckLayer {
            check: Arc::new(check),
            items: None,
        }
    }
}

impl<C> AsyncCheckLayer<C> {
    /// Also filters listing responses: an item stays only if `keep` returns `true` for the
    /// caller (if any) and the item, as [`CheckLayer::with_items`](super::CheckLayer::with_items).
    pub fn with_items(
        mut self,
        keep: impl Fn(Option<&Caller>, &Item<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.items = Some(Arc::new(keep));
        self
    }
}

impl<C> Clone for AsyncCheckLayer<C> {
    fn clone(&self) -> Self {
        AsyncCheckLayer {
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

impl<C> fmt::Debug for AsyncCheckLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCheckLayer")
            .field("items", &self.items.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, C> Layer<S> for AsyncCheckLayer<C> {
    type Service = AsyncChecked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        AsyncChecked {
            inner,
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

/// Runs an [`AsyncCheck`] before the inner service, which is called only once it allows.
pub struct AsyncChecked<S, C> {
    inner: S,
    check: Arc<C>,
    items: Option<ItemFilter>,
}

impl<S, C> AsyncChecked<S, C> {
    /// Wraps `inner`, running `check` first.
    pub fn new(inner: S, check: C) -> Self {
        AsyncChecked {
            inner,
            check: Arc::new(check),
            items: None,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the service, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C> Clone for AsyncChecked<S, C> {
    fn clone(&self) -> Self {
        AsyncChecked {
            inner: self.inner.clone(),
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for AsyncChecked<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncChecked")
            .field("inner", &self.inner)
            .field("items", &self.items.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, C, R> Service<R> for AsyncChecked<S, C>
where
    R: AgentRequest + Send + 'static,
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: AgentResponse,
    S::Error: Into<BoxError>,
    C: AsyncCheck,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let decision = self.check.check(&req);
        let listing = decided::listing(self.items.as_ref(), &req);
        admit::call(&mut self.inner, req, async move {
            decision.await?;
            Ok(None)
        })
        .with_listing(listing)
    }
}
