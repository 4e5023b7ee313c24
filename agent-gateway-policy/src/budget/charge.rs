//! The budget check before a call, and the charge after it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_gateway_core::store::{SharedStore, StoreError};
use agent_gateway_core::{AgentRequest, Cost, Denied, SharedClock};

use super::estimate::Estimate;
use super::period::Period;
use super::scope::{Scope, Spend};
use crate::key::{MissingKey, SharedKey};

/// What the layer shares with every service it wraps.
pub(super) struct Shared {
    pub(super) store: SharedStore,
    pub(super) clock: SharedClock,
    pub(super) period: Period,
    pub(super) key: SharedKey,
    pub(super) missing: MissingKey,
    /// The default limit of every scope at a level, by [`Level::index`].
    pub(super) defaults: [Option<Cost>; 3],
    pub(super) overrides: HashMap<Scope, Cost>,
    /// The soft limit, in percent of each limit.
    pub(super) soft_percent: Option<u8>,
    pub(super) fail_open: bool,
    pub(super) counters: Arc<Counters>,
    /// What a call may cost, reserved at admission; `None` reserves nothing.
    pub(super) estimate: Option<Arc<dyn Estimate>>,
}

/// What the layer counts, for metrics.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) soft_limit_hits: AtomicU64,
    pub(super) fail_open: AtomicU64,
    pub(super) charge_failures: AtomicU64,
}

impl Clone for Shared {
    fn clone(&self) -> Self {
        Shared {
            store: self.store.clone(),
            clock: self.clock.clone(),
            period: self.period,
            key: self.key.clone(),
            missing: self.missing,
            defaults: self.defaults,
            overrides: self.overrides.clone(),
            soft_percent: self.soft_percent,
            fail_open: self.fail_open,
            counters: self.counters.clone(),
            estimate: self.estimate.clone(),
        }
    }
}

impl Shared {
    /// The budgets a request falls under, broadest first: tenant, team, key.
    pub(super) fn scopes(&self, req: &dyn AgentRequest) -> Result<Vec<Scope>, Denied> {
        let caller = req.caller();
        let mut scopes = Vec::with_capacity(3);
        if let Some(tenant) = caller.and_then(|c| c.tenant()) {
            scopes.push(Scope::tenant(tenant));
        }
        if let Some(team) = caller.and_then(|c| c.team()) {
            scopes.push(Scope::team(team));
        }
        match (self.key.key(req), self.missing) {
            (Some(key), _) => scopes.push(Scope::key(key)),
            (None, MissingKey::Skip) => {}
            (None, _) => {
                return Err(
                    Denied::forbidden("no budget key for this request").with_rule("budget:key")
                );
            }
        }
        Ok(scopes)
    }
}

impl Shared {
    /// The limit of a scope: its own, else its level's default.
    pub(super) fn limit(&self, scope: &Scope) -> Option<Cost> {
        self.overrides
            .get(scope)
            .copied()
            .or(self.defaults[scope.level().index()])
    }

    /// A scope's spend in the period stamped `stamp`: gross (charges and reservations) less
    /// credit (what settlements gave back).
    pub(super) async fn spent(&self, scope: &Scope, stamp: &str) -> Result<u64, StoreError> {
        let gross = self.store.get(&scope.store_key(stamp)).await?;
        let credit = self.store.get(&scope.credit_key(stamp)).await?;
        Ok(gross.saturating_sub(credit))
    }

    /// Reads a scope's spend in the current period: what was charged and reserved, less what
    /// was credited back.
    pub(super) async fn spend(&self, scope: &Scope) -> Result<Spend, StoreError> {
        let current = self.period.current(self.clock.wall());
        let spent = self.spent(scope, &current.stamp).await?;
        Ok(Spend {
            spent: Cost::from_nano_usd(spent),
            limit: self.limit(scope),
            period_end: current.end,
        })
    }
}

impl Shared {
    /// Warns once per period and scope: when this charge is the one that crossed the soft limit
    /// (`total` is the spend after it). Two charges settling at the same instant may both see
    /// the crossing, so it is counted once, or rarely twice.
    pub(super) fn check_soft_limit(&self, scope: &Scope, cost: Cost, total: u64) {
        let (Some(percent), Some(limit)) = (self.soft_percent, self.limit(scope)) else {
            return;
        };
        let threshold = u64::try_from(u128::from(limit.nano_usd()) * u128::from(percent) / 100)
            .unwrap_or(u64::MAX);
        let before = total.saturating_sub(cost.nano_usd());
        if before < threshold && total >= threshold {
            self.counters
                .soft_limit_hits
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                budget = %scope,
                spent = %Cost::from_nano_usd(total),
                %limit,
                percent,
                "budget soft limit reached"
            );
        }
    }
}
