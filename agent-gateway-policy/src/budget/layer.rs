use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use agent_gateway_core::store::{CounterStore, StoreError};
use agent_gateway_core::{Cost, SharedClock, SystemClock};
use tower::Layer;

use super::Budget;
use super::charge::{Counters, Shared};
use super::estimate::Estimate;
use super::period::Period;
use super::scope::{Level, Scope, Spend};
use crate::key::{CallerId, KeyFn, MissingKey, SharedKey};

/// Refuses calls whose key, team or tenant budget is exhausted, and charges what each call cost,
/// through a [`Budget`] service.
///
/// The store, the limits and the counters are created with the layer and shared, through an
/// `Arc`, by every service it wraps.
#[must_use]
pub struct BudgetLayer {
    shared: Arc<Shared>,
}

impl BudgetLayer {
    /// A layer with no limits yet, keeping spend in `store`, per caller ([`CallerId`]: authenticator, issuer, tenant and subject), by calendar
    /// month on the system clock. It fails closed when the store fails.
    pub fn new(store: impl CounterStore) -> Self {
        BudgetLayer {
            shared: Arc::new(Shared {
                store: Arc::new(store),
                clock: SystemClock::shared(),
                period: Period::default(),
                key: SharedKey::new(CallerId),
                missing: MissingKey::default(),
                defaults: [None; 3],
                overrides: HashMap::new(),
                soft_percent: None,
                fail_open: false,
                counters: Arc::new(Counters::default()),
                estimate: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// Keys the [`Level::Key`] budgets with `key` (an API key id, a subject, an agent) instead of
    /// the caller's subject.
    pub fn with_key(self, key: impl KeyFn + 'static) -> Self {
        self.edit(|s| s.key = SharedKey::new(key))
    }

    /// What to do with a request whose key cannot be extracted; [`MissingKey::Deny`] unless set.
    /// A caller outside any team or tenant simply has no budget at that level.
    pub fn with_missing_key(self, missing: MissingKey) -> Self {
        self.edit(|s| s.missing = missing)
    }

    /// Resets budgets every `period`; [`Period::Monthly`] unless set.
    pub fn with_period(self, period: Period) -> Self {
        self.edit(|s| s.period = period)
    }

    /// Reads the calendar from `clock`, to decide which period a charge belongs to.
    pub fn with_clock(self, clock: SharedClock) -> Self {
        self.edit(|s| s.clock = clock)
    }

    /// Limits every scope at `level` to `limit` per period, unless it has its own
    /// ([`with_scope_limit`](Self::with_scope_limit)).
    pub fn with_limit(self, level: Level, limit: Cost) -> Self {
        self.edit(|s| s.defaults[level.index()] = Some(limit))
    }

    /// Limits one scope to `limit` per period, overriding its level's default.
    pub fn with_scope_limit(self, scope: Scope, limit: Cost) -> Self {
        self.edit(|s| {
            s.overrides.insert(scope, limit);
        })
    }

    /// Warns (at `warn`, once per scope and period) when a budget reaches `percent` of its
    /// limit, and counts it in [`soft_limit_hits`](Self::soft_limit_hits). Clamped to 1..=100.
    pub fn with_soft_limit(self, percent: u8) -> Self {
        self.edit(|s| s.soft_percent = Some(percent.clamp(1, 100)))
    }

    /// Reserves what `estimate` says a call may cost when it is admitted, and corrects it to
    /// the actual cost when the call ends; see [Reserved, then settled](super#reserved-then-settled).
    /// Without an estimator nothing is reserved, and a budget admits calls while anything is
    /// left, so calls in flight together can overspend it by their combined cost.
    pub fn with_estimate(self, estimate: impl Estimate) -> Self {
        let estimate: Arc<dyn Estimate> = Arc::new(estimate);
        self.edit(|s| s.estimate = Some(estimate))
    }

    /// Lets calls through when the store fails, instead of refusing them with
    /// [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable); each skipped
    /// check is logged and counted in [`fail_open_count`](Self::fail_open_count).
    pub fn fail_open(self) -> Self {
        self.edit(|s| s.fail_open = true)
    }

    /// What `scope` has spent in the current period, with its limit and when the period ends.
    pub async fn spend(&self, scope: &Scope) -> Result<Spend, StoreError> {
        self.shared.spend(scope).await
    }

    /// How many times a budget crossed its soft limit.
    pub fn soft_limit_hits(&self) -> u64 {
        self.shared.counters.soft_limit_hits.load(Ordering::Relaxed)
    }

    /// How many budget checks were skipped because the store failed and the layer fails open.
    pub fn fail_open_count(&self) -> u64 {
        self.shared.counters.fail_open.load(Ordering::Relaxed)
    }

    /// How many charges could not be recorded (store failure). They are logged at `error`.
    pub fn charge_failures(&self) -> u64 {
        self.shared.counters.charge_failures.load(Ordering::Relaxed)
    }
}

impl Clone for BudgetLayer {
    fn clone(&self) -> Self {
        BudgetLayer {
            shared: self.shared.clone(),
        }
    }
}

impl<S> Layer<S> for BudgetLayer {
    type Service = Budget<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Budget::from_shared(inner, self.shared.clone())
    }
}

impl fmt::Debug for BudgetLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("BudgetLayer")
            .field("store", &s.store)
            .field("period", &s.period)
            .field("defaults", &s.defaults)
            .field("overrides", &s.overrides)
            .field("soft_percent", &s.soft_percent)
            .field("fail_open", &s.fail_open)
            .field("estimate", &s.estimate.is_some())
            .finish_non_exhaustive()
    }
}
