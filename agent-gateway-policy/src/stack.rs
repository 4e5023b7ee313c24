//! [`PolicyStack`]: every policy layer of an application built once, and applied to any number
//! of fronts and routes, which then share one quota, one budget and their counters.
//!
//! ```
//! use std::num::NonZeroU64;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind};
//! use agent_gateway_policy::key::CallerId;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use agent_gateway_policy::stack::PolicyStack;
//! use serde_json::json;
//! use tower::{Layer, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let stack = PolicyStack::new()
//!     .with_check(|req: &dyn AgentRequest| match req.target() {
//!         Some("fs.delete") => Err(Denied::forbidden("no deletes")),
//!         _ => Ok(()),
//!     })
//!     .with_quota(QuotaLayer::new(MemoryStore::new())
//!         .with_limit(Limit::requests("two", CallerId, Rate::per_hour(NonZeroU64::new(2).unwrap()))));
//! // Two "fronts" (two services, possibly of different request types) behind one stack.
//! let tools = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("tool"))));
//! let models = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("model"))));
//! let tools_svc = stack.layer(tools.clone());
//! let models_svc = stack.layer(models.clone());
//! let call = |action, target: &str| {
//!     Call::new(action, json!({})).with_target(target).with_caller(Caller::new("ann"))
//! };
//! let kind = |e: BoxError| Denied::find(e.as_ref()).unwrap().kind().clone();
//!
//! // Denied by the check: nothing counted, nothing called.
//! let err = tools_svc.clone().oneshot(call(Action::ToolCall, "fs.delete")).await.unwrap_err();
//! assert_eq!(kind(err), DeniedKind::Forbidden);
//! // Allowed: one call on each front, and the one quota is used up for both.
//! assert!(tools_svc.clone().oneshot(call(Action::ToolCall, "fs.read")).await.is_ok());
//! assert!(models_svc.clone().oneshot(call(Action::ModelCall, "gpt")).await.is_ok());
//! let err = models_svc.oneshot(call(Action::ModelCall, "gpt")).await.unwrap_err();
//! assert!(matches!(kind(err), DeniedKind::QuotaExceeded { .. }));
//! assert_eq!((tools.calls(), models.calls()), (1, 1));
//! # });
//! ```
//!
//! # Which requests pass the stack
//!
//! Every request a front decodes passes it: calls (`tools/call`, `message/send`, chat
//! completions) and also housekeeping, such as MCP `initialize`, `ping` and
//! `notifications/*` ([`Action::Protocol`](agent_gateway_core::Action::Protocol)), and listings
//! (`tools/list`, agent cards, `/v1/models`). Auth therefore sees every request, and a quota
//! counts housekeeping too unless its limit is scoped to actions with
//! [`Limit::with_actions`](crate::quota::Limit::with_actions).
//!
//! # Order
//!
//! auth → authorize → checks → quota → budget → guardrails: a request is counted only once it is known who
//! sent it and that it is allowed at all, so a refused request never uses up anyone's quota.
//!
//! # The stack's type
//!
//! [`PolicyService<S>`] is one linear nesting, whatever the stack holds:
//! `Auth<AuditTap<Authorize<Checked<Quota<Budget<Guard<S>>>>>>>`. A step that is not configured
//! is still there, as a pass-through: its service holds no layer state and calls the inner
//! service directly, at the cost of one branch and no allocation. (An optional step written
//! as `Either<Layer<S>, S>` would name `S` twice, so `n` optional steps would name it `2^n`
//! times; the compiler then type-checks every copy, and a gateway's stacks grew past what a
//! machine's memory holds.) Every front therefore gets one service type per inner service,
//! which also means one type to name in a `BoxCloneSyncService`.

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::Caller;
use agent_gateway_core::response::Item;
use tower::Layer;

use crate::audit::AuditTap;
use crate::auth::{Auth, AuthLayer, Authenticator};
#[cfg(feature = "cel")]
use crate::authorize::{Authorize, AuthorizeLayer, Policy};
use crate::budget::{Budget, BudgetLayer};
use crate::check::{Check, CheckLayer, Checked};
use crate::guard::{Guard, GuardLayer};
use crate::quota::{Quota, QuotaLayer};

/// The checks of a stack, run in the order added.
pub type Checks = Vec<Arc<dyn Check>>;

/// The guard step: guardrails, or a pass-through when there are none.
pub type GuardStep<S> = Guard<S>;
/// The budget step: spend budgets, or a pass-through.
pub type BudgetStep<S> = Budget<GuardStep<S>>;
/// The quota step: quotas, or a pass-through.
pub type QuotaStep<S> = Quota<BudgetStep<S>>;
/// The checks' step (no check passes everything).
pub type CheckStep<S> = Checked<QuotaStep<S>, Checks>;
/// The authorize step: CEL rules, or a pass-through.
#[cfg(feature = "cel")]
pub type AuthorizeStep<S> = Authorize<CheckStep<S>>;
/// Without the `cel` feature there are no rules, and no step for them.
#[cfg(not(feature = "cel"))]
pub type AuthorizeStep<S> = CheckStep<S>;
/// What [`PolicyStack`] makes of a service `S`: auth (or a pass-through), then an [`AuditTap`]
/// that hands the caller to an [`AuditLayer`](crate::audit::AuditLayer) outside the stack, if
/// there is one, then the other steps. See [The stack's type](self#the-stacks-type).
pub type PolicyService<S> = Auth<AuditTap<AuthorizeStep<S>>, dyn Authenticator>;

/// Every policy layer of an application, each built once; see the [module docs](self).
///
/// Cloning it, or calling [`layer`](Layer::layer) any number of times, shares the same layer
/// values: one counter store, one quota's fail-open counter, one budget's soft-limit counter.
#[derive(Clone, Default)]
#[must_use]
pub struct PolicyStack {
    auth: Option<AuthLayer<dyn Authenticator>>,
    #[cfg(feature = "cel")]
    authorize: Option<AuthorizeLayer>,
    checks: Checks,
    items: Vec<crate::check::ItemFilter>,
    quota: Option<QuotaLayer>,
    budget: Option<BudgetLayer>,
    guard: Option<GuardLayer>,
}

impl PolicyStack {
    /// An empty stack: every request passes.
    pub fn new() -> Self {
        PolicyStack::default()
    }

    /// Authenticates with `layer` first.
    pub fn with_auth<A: Authenticator>(mut self, layer: AuthLayer<A>) -> Self {
        self.auth = Some(layer.into_dyn());
        self
    }

    /// The auth layer, if any: to build a [`PreAuthLayer`](crate::auth::PreAuthLayer) that
    /// authenticates the same way before the body is read.
    pub fn auth(&self) -> Option<&AuthLayer<dyn Authenticator>> {
        self.auth.as_ref()
    }

    /// Enforces `policy` after auth, filtering listings by it too.
    #[cfg(feature = "cel")]
    pub fn with_rules(mut self, policy: Policy) -> Self {
        self.authorize = Some(AuthorizeLayer::new(policy));
        self
    }

    /// Adds a check, run after auth and rules, before quota; checks run in the order added.
    pub fn with_check(mut self, check: impl Check) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Filters listings: an item stays only if every such hook keeps it for the caller.
    pub fn with_items(
        mut self,
        keep: impl Fn(Option<&Caller>, &Item<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.items.push(Arc::new(keep));
        self
    }

    /// Applies `layer`'s limits after the checks.
    pub fn with_quota(mut self, layer: QuotaLayer) -> Self {
        self.quota = Some(layer);
        self
    }

    /// Applies `layer`'s budgets last.
    pub fn with_budget(mut self, layer: BudgetLayer) -> Self {
        self.budget = Some(layer);
        self
    }

    /// Runs `layer`'s guardrails last, nearest the upstream: what they see has been admitted,
    /// and what they rewrite is what the upstream receives.
    pub fn with_guard(mut self, layer: GuardLayer) -> Self {
        self.guard = Some(layer);
        self
    }

    /// The quota layer, for its [`fail_open_count`](QuotaLayer::fail_open_count).
    pub fn quota(&self) -> Option<&QuotaLayer> {
        self.quota.as_ref()
    }

    /// The budget layer, for its spend and counters.
    pub fn budget(&self) -> Option<&BudgetLayer> {
        self.budget.as_ref()
    }

    fn check_layer(&self) -> CheckLayer<Checks> {
        let layer = CheckLayer::new(self.checks.clone());
        if self.items.is_empty() {
            return layer;
        }
        let items = self.items.clone();
        layer.with_items(move |caller, item| items.iter().all(|keep| keep(caller, item)))
    }
}

impl<S> Layer<S> for PolicyStack {
    type Service = PolicyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let inner = match &self.guard {
            Some(guard) => guard.layer(inner),
            None => Guard::pass(inner),
        };
        let inner = match &self.budget {
            Some(budget) => budget.layer(inner),
            None => Budget::pass(inner),
        };
        let inner = match &self.quota {
            Some(quota) => quota.layer(inner),
            None => Quota::pass(inner),
        };
        let inner = self.check_layer().layer(inner);
        #[cfg(feature = "cel")]
        let inner = match &self.authorize {
            Some(authorize) => authorize.layer(inner),
            None => Authorize::pass(inner),
        };
        let inner = AuditTap::new(inner);
        match &self.auth {
            Some(auth) => auth.layer(inner),
            None => Auth::pass(inner),
        }
    }
}

impl fmt::Debug for PolicyStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PolicyStack");
        d.field("auth", &self.auth.is_some());
        #[cfg(feature = "cel")]
        d.field("authorize", &self.authorize.is_some());
        d.field("checks", &self.checks.len())
            .field("items", &self.items.len())
            .field("quota", &self.quota)
            .field("budget", &self.budget)
            .field("guard", &self.guard)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use agent_gateway_core::response::Reply;
    use agent_gateway_core::store::{MemoryStore, Rate};
    use agent_gateway_core::testkit::FakeUpstream;
    use agent_gateway_core::{Action, BoxError, Call, Caller, Cost, Usage};
    use serde_json::json;
    use tower::{Layer, ServiceExt};

    use super::*;
    use crate::budget::Level;
    use crate::key::Subject;
    use crate::quota::Limit;
    use crate::quota::tests::Down;

    /// Lets the charges the budget spawned run.
    async fn settled() {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn every_front_shares_the_fail_open_and_soft_limit_counters() {
        let rate = Rate::per_minute(NonZeroU64::MIN);
        let stack = PolicyStack::new()
            .with_quota(
                QuotaLayer::new(Down)
                    .with_limit(Limit::requests("q", Subject, rate))
                    .fail_open(),
            )
            .with_budget(
                BudgetLayer::new(MemoryStore::new())
                    .with_limit(Level::Key, Cost::from_usd(1.0))
                    .with_soft_limit(50),
            );
        let upstream = FakeUpstream::new(|_: Call| {
            let usage = Usage::step().with_cost(Cost::from_usd(0.3));
            Ok::<_, BoxError>(Reply::with_usage(json!("ok"), usage))
        });
        // Two fronts, each made by its own `layer()` call, as a router does per route.
        let fronts = [stack.layer(upstream.clone()), stack.layer(upstream.clone())];
        let call = || Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("ann"));
        for front in &fronts {
            assert!(front.clone().oneshot(call()).await.is_ok());
            settled().await;
        }
        // One fail-open counter saw both calls; one budget saw $0.60 of $1 cross its 50%.
        assert_eq!(stack.quota().map(QuotaLayer::fail_open_count), Some(2));
        assert_eq!(stack.budget().map(BudgetLayer::soft_limit_hits), Some(1));
        assert_eq!(upstream.calls(), 2);
    }
}
