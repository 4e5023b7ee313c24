//! Spend budgets: what calls cost, accumulated per key, team and tenant, refused once any
//! enclosing budget is exhausted.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::MemoryStore;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, Call, Caller, Cost, Denied, DeniedKind, Usage};
//! use agent_gateway_policy::budget::{BudgetLayer, Level, Period, Scope};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let dollar = Cost::from_nano_usd(1_000_000_000);
//! let layer = BudgetLayer::new(MemoryStore::new())
//!     .with_period(Period::Monthly)
//!     .with_limit(Level::Tenant, dollar);
//! // Every call costs 60 cents.
//! let upstream = FakeUpstream::new(|_: Call| {
//!     let usage = Usage::tokens(100, 20).with_cost(Cost::from_nano_usd(600_000_000));
//!     Ok::<_, Denied>(Reply::with_usage(json!("ok"), usage))
//! });
//! let svc = || ServiceBuilder::new().layer(layer.clone()).service(upstream.clone());
//! let call = || Call::new(Action::ModelCall, json!({})).with_caller(Caller::new("alice").with_tenant("acme"));
//! # async fn charged() { for _ in 0..16 { tokio::task::yield_now().await } }
//!
//! // Allowed: the tenant has spent nothing yet, then 60 cents.
//! assert!(svc().oneshot(call()).await.is_ok());
//! charged().await; // charging runs on a spawned task, off the response path
//! assert!(svc().oneshot(call()).await.is_ok());
//! charged().await;
//! assert_eq!(layer.spend(&Scope::tenant("acme")).await.unwrap().spent, Cost::from_nano_usd(1_200_000_000));
//!
//! // Denied: $1.20 of $1 is spent, so the tenant's next call never reaches the upstream.
//! let err = svc().oneshot(call()).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.kind(), &DeniedKind::BudgetExhausted);
//! assert_eq!(denied.rule(), Some("budget:tenant:acme"));
//! assert_eq!(upstream.calls(), 2);
//! # }
//! ```
//!
//! # Reserved, then settled
//!
//! What a call costs is known only when its response, or its stream, has ended and reported its
//! [`agent_gateway_core::Usage`]. So a budget reserves, when it admits a call, what the call may
//! cost at most ([`BudgetLayer::with_estimate`]; for a model call, its input estimate plus
//! `max_tokens` of output at the deployment's prices), with one atomic
//! [`incr_within`](agent_gateway_core::store::CounterStore::incr_within) per enclosing budget:
//! a call is admitted only if `spent + reserved <= limit`. When the call ends, the reservation is
//! corrected to the actual cost on a spawned task (the excess charged, the unused part credited
//! back), off the response path; a call that fails, or reports no usage, gives it all back.
//! Calls without an estimate reserve nothing and are admitted while `spent < limit`.
//!
//! **The worst-case overspend** is therefore the sum, over the calls in flight together, of how
//! far each one's actual cost exceeds its reservation. With estimates that bound the cost (a
//! model call with `max_tokens`, whose input estimate holds), that is zero: concurrency cannot
//! push a budget past its limit, however many calls race. Without an estimate each call in
//! flight can add its whole cost; [`Estimate`] and the LLM router's cost estimator exist to
//! close that gap. The reservation is made in the period current at admission and corrected in
//! the same period.
//!
//! # A hierarchy of budgets
//!
//! A call falls under up to three budgets: its key's (by default the caller's subject), its
//! caller's team's and its caller's tenant's. It is refused as soon as **any** of them is
//! exhausted, with [`DeniedKind::BudgetExhausted`](agent_gateway_core::DeniedKind::BudgetExhausted)
//! and the rule id `budget:<level>:<id>` of the budget that refused it, and its cost is charged
//! to all of them. Limits are set per level ([`BudgetLayer::with_limit`]) and per scope
//! ([`BudgetLayer::with_scope_limit`]); spend is tracked for every scope, limited or not, so
//! [`BudgetLayer::spend`] can report it.
//!
//! # Periods, soft limits and failures
//!
//! A budget resets each [`Period`] of the UTC calendar (day or month) or never. Each period has
//! its own key (`budget:team:billing:2026-11`), which expires when the period ends, so no job
//! resets anything. A soft limit ([`BudgetLayer::with_soft_limit`]) logs a warning and counts
//! once, when a charge crosses it. When the store fails, the check fails closed with
//! [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable) unless
//! [`BudgetLayer::fail_open`] was chosen; a charge that fails is logged and counted.

pub mod future;

mod charge;
mod estimate;
mod layer;
mod period;
mod reserve;
mod scope;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Cost, Usage};
use tower::Service;

pub use self::estimate::Estimate;
pub use self::layer::BudgetLayer;
pub use self::period::{Period, UnknownPeriod};
pub use self::scope::{Level, Scope, Spend};

use self::charge::Shared;
use self::future::ResponseFuture;
use crate::admit::{self, OnUsage};

/// Refuses calls whose enclosing budgets are exhausted and charges the rest when they end; see
/// the [module docs](self).
pub struct Budget<S> {
    inner: S,
    /// `None` in a [`PolicyStack`](crate::stack::PolicyStack) step without this layer.
    shared: Option<Arc<Shared>>,
}

impl<S> Budget<S> {
    fn from_shared(inner: S, shared: Arc<Shared>) -> Self {
        Budget {
            inner,
            shared: Some(shared),
        }
    }

    /// A pass-through step: calls `inner` as it is, counting nothing.
    pub(crate) fn pass(inner: S) -> Self {
        Budget {
            inner,
            shared: None,
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

    /// Consumes the budget, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for Budget<S> {
    fn clone(&self) -> Self {
        Budget {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Budget<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("inner", &self.inner)
            .field("period", &self.shared.as_ref().map(|s| &s.period))
            .finish_non_exhaustive()
    }
}

impl<S, R> Service<R> for Budget<S>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    S::Response: AgentResponse,
    R: AgentRequest + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let Some(shared) = &self.shared else {
            return ResponseFuture::passed(self.inner.call(req));
        };
        let scopes = shared.scopes(&req);
        let estimate = shared
            .estimate
            .as_ref()
            .and_then(|e| e.estimate(&req))
            .unwrap_or(Cost::ZERO);
        let shared = shared.clone();
        admit::call(&mut self.inner, req, async move {
            let reservation = shared.reserve(scopes?, estimate).await?;
            let charger: OnUsage = Box::new(move |usage: &Usage| {
                reservation.settle(usage.cost.unwrap_or(Cost::ZERO));
            });
            Ok(Some(charger))
        })
    }
}
