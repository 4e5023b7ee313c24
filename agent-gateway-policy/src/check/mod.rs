//! Your own check, in one line: a closure over [`&dyn AgentRequest`](AgentRequest) that allows
//! a request or refuses it with a [`Denied`], for every protocol at once.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind};
//! use agent_gateway_policy::check::CheckLayer;
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // No tool whose name ends in `delete`, except for admins.
//! let no_deletes = CheckLayer::new(|req: &dyn AgentRequest| {
//!     let admin = req.caller().is_some_and(|c| c.has_role("admin"));
//!     match (req.action(), req.target()) {
//!         (Action::ToolCall, Some(t)) if t.ends_with("delete") && !admin => {
//!             Err(Denied::forbidden("deletes need an admin").with_rule("no-deletes"))
//!         }
//!         _ => Ok(()),
//!     }
//! });
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
//! let svc = ServiceBuilder::new().layer(no_deletes).service(upstream.clone());
//! let call = |tool: &str| {
//!     Call::new(Action::ToolCall, json!({})).with_target(tool).with_caller(Caller::new("bob"))
//! };
//!
//! // Allowed: the inner service runs.
//! assert!(svc.clone().oneshot(call("fs.read")).await.is_ok());
//! // Denied: the inner service never runs, and the front renders the denial in its dialect.
//! let err = svc.clone().oneshot(call("fs.delete")).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.kind(), &DeniedKind::Forbidden);
//! assert_eq!(denied.rule(), Some("no-deletes"));
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```
//!
//! # Listings
//!
//! A caller should not be shown what it may not call. [`CheckLayer::with_items`] (and
//! [`AsyncCheckLayer::with_items`]) adds a hook that sees the caller and each
//! [`Item`](agent_gateway_core::response::Item) of a listing response (MCP tools, A2A agents,
//! LLM models), through [`AgentResponse::retain_items`], and keeps only the items it returns
//! `true` for, as [`Authorize`](crate::authorize) does with its rules.
//!
//! # Asynchronous checks
//!
//! A check that must ask something over the network (an entitlement service, a database) is an
//! [`AsyncCheck`], in an [`AsyncCheckLayer`]: the closure reads what it needs from the request
//! and returns a `'static` future, which runs before the inner service is called.

pub mod future;

mod async_check;
mod layer;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Denied};
use tower::Service;

pub use self::async_check::{AsyncCheck, AsyncCheckLayer, AsyncChecked};
pub use self::layer::CheckLayer;

use self::future::ResponseFuture;
use crate::decided;

/// Decides, synchronously, whether a request may pass; see the [module docs](self).
///
/// Implemented for every closure `Fn(&dyn AgentRequest) -> Result<(), Denied>`, and for `()`,
/// which allows everything.
pub trait Check: Send + Sync + 'static {
    /// `Ok(())` to let `req` through, or the [`Denied`] to answer with.
    fn check(&self, req: &dyn AgentRequest) -> Result<(), Denied>;
}

impl<F> Check for F
where
    F: Fn(&dyn AgentRequest) -> Result<(), Denied> + Send + Sync + 'static,
{
    fn check(&self, req: &dyn AgentRequest) -> Result<(), Denied> {
        self(req)
    }
}

impl Check for () {
    fn check(&self, _req: &dyn AgentRequest) -> Result<(), Denied> {
        Ok(())
    }
}

impl<C: Check + ?Sized> Check for Arc<C> {
    fn check(&self, req: &dyn AgentRequest) -> Result<(), Denied> {
        (**self).check(req)
    }
}

impl<C: Check> Check for Vec<C> {
    /// Every check must pass; the first denial wins.
    fn check(&self, req: &dyn AgentRequest) -> Result<(), Denied> {
        self.iter().try_for_each(|c| c.check(req))
    }
}

pub use crate::decided::ItemFilter;

/// Runs a [`Check`] on every request before the inner service; see the [module docs](self).
pub struct Checked<S, C> {
    inner: S,
    check: Arc<C>,
    items: Option<ItemFilter>,
}

impl<S, C> Checked<S, C> {
    /// Wraps `inner`, running `check` first.
    pub fn new(inner: S, check: C) -> Self {
        Checked {
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

impl<S: Clone, C> Clone for Checked<S, C> {
    fn clone(&self) -> Self {
        Checked {
            inner: self.inner.clone(),
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for Checked<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checked")
            .field("inner", &self.inner)
            .field("items", &self.items.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, C, R> Service<R> for Checked<S, C>
where
    R: AgentRequest,
    S: Service<R>,
    S::Response: AgentResponse,
    S::Error: Into<BoxError>,
    C: Check,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Never Pending for a policy reason: the decision is made in `call`.
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: R) -> Self::Future {
        if let Err(denied) = self.check.check(&req) {
            tracing::debug!(action = %req.action(), rule = denied.rule(), "check: denied");
            return ResponseFuture::denied(denied);
        }
        let listing = decided::listing(self.items.as_ref(), &req);
        ResponseFuture::called(self.inner.call(req), listing)
    }
}
