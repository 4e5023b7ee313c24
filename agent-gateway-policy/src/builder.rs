//! [`ServiceBuilderExt`]: one method per policy layer on tower's `ServiceBuilder`, so a stack
//! reads in the order requests pass it.
//!
//! ```
//! use std::num::NonZeroU64;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, DeniedKind, Secret};
//! use agent_gateway_policy::ServiceBuilderExt;
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
//! use agent_gateway_policy::key::Subject;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use http::{HeaderMap, HeaderValue};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let keys = ApiKeys::new().with_key(Secret::new("sk-1".into()), Principal::new("ann"));
//! let quota = QuotaLayer::new(MemoryStore::new())
//!     .with_limit(Limit::requests("per-caller", Subject, Rate::per_minute(NonZeroU64::MIN)));
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
//! let stack = ServiceBuilder::new()
//!     .auth(AuthLayer::new(keys))
//!     .check(|req: &dyn AgentRequest| match req.target() {
//!         Some(t) if t.ends_with("delete") => Err(Denied::forbidden("no deletes")),
//!         _ => Ok(()),
//!     })
//!     .quota(quota)
//!     .service(upstream.clone());
//! let call = |target: &str| {
//!     let mut headers = HeaderMap::new();
//!     headers.insert("authorization", HeaderValue::from_static("Bearer sk-1"));
//!     Call::new(Action::ToolCall, json!({})).with_target(target).with_headers(headers)
//! };
//! let kind = |e: BoxError| Denied::find(e.as_ref()).unwrap().kind().clone();
//!
//! assert!(stack.clone().oneshot(call("fs.read")).await.is_ok());
//! assert_eq!(kind(stack.clone().oneshot(call("fs.delete")).await.unwrap_err()), DeniedKind::Forbidden);
//! let err = stack.clone().oneshot(call("fs.read")).await.unwrap_err();
//! assert!(matches!(kind(err), DeniedKind::QuotaExceeded { .. }));
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```

use tower::ServiceBuilder;
use tower::layer::util::Stack;

use crate::auth::AuthLayer;
#[cfg(feature = "cel")]
use crate::authorize::{AuthorizeLayer, Policy};
use crate::budget::BudgetLayer;
use crate::check::{AsyncCheck, AsyncCheckLayer, Check, CheckLayer};
use crate::quota::QuotaLayer;
use crate::run::RunLayer;

mod sealed {
    pub trait Sealed<T> {}
    impl<L> Sealed<L> for tower::ServiceBuilder<L> {}
}

/// Adds the policy layers to [`ServiceBuilder`]; see the [module docs](self).
///
/// Sealed: implemented only by `ServiceBuilder`.
pub trait ServiceBuilderExt<L>: sealed::Sealed<L> + Sized {
    /// Authenticates every request; see [`auth`](crate::auth).
    fn auth<A: ?Sized>(self, layer: AuthLayer<A>) -> ServiceBuilder<Stack<AuthLayer<A>, L>>;

    /// Enforces CEL rules and filters listings; see [`authorize`](crate::authorize).
    #[cfg(feature = "cel")]
    fn authorize(self, policy: Policy) -> ServiceBuilder<Stack<AuthorizeLayer, L>>;

    /// Runs your own [`Check`] on every request; see [`check`](crate::check).
    fn check<C: Check>(self, check: C) -> ServiceBuilder<Stack<CheckLayer<C>, L>>;

    /// Runs your own [`AsyncCheck`] before the inner service; see [`check`](crate::check).
    fn async_check<C: AsyncCheck>(self, check: C) -> ServiceBuilder<Stack<AsyncCheckLayer<C>, L>>;

    /// Applies quotas; see [`quota`](crate::quota).
    fn quota(self, layer: QuotaLayer) -> ServiceBuilder<Stack<QuotaLayer, L>>;

    /// Applies spend budgets; see [`budget`](crate::budget).
    fn budget(self, layer: BudgetLayer) -> ServiceBuilder<Stack<BudgetLayer, L>>;

    /// Applies run budgets and loop detection; see [`run`](crate::run).
    fn run(self, layer: RunLayer) -> ServiceBuilder<Stack<RunLayer, L>>;
}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn auth<A: ?Sized>(self, layer: AuthLayer<A>) -> ServiceBuilder<Stack<AuthLayer<A>, L>> {
        self.layer(layer)
    }

    #[cfg(feature = "cel")]
    fn authorize(self, policy: Policy) -> ServiceBuilder<Stack<AuthorizeLayer, L>> {
        self.layer(AuthorizeLayer::new(policy))
    }

    fn check<C: Check>(self, check: C) -> ServiceBuilder<Stack<CheckLayer<C>, L>> {
        self.layer(CheckLayer::new(check))
    }

    fn async_check<C: AsyncCheck>(self, check: C) -> ServiceBuilder<Stack<AsyncCheckLayer<C>, L>> {
        self.layer(AsyncCheckLayer::new(check))
    }

    fn quota(self, layer: QuotaLayer) -> ServiceBuilder<Stack<QuotaLayer, L>> {
        self.layer(layer)
    }

    fn budget(self, layer: BudgetLayer) -> ServiceBuilder<Stack<BudgetLayer, L>> {
        self.layer(layer)
    }

    fn run(self, layer: RunLayer) -> ServiceBuilder<Stack<RunLayer, L>> {
        self.layer(layer)
    }
}
