//! The budget check before a call, and the charge after it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_gateway_core::store::{SharedStore, StoreError};
use agent_gateway_core::{AgentRequest, BoxError, Cost, Denied, SharedClock};
use tokio::runtime::Handle;

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

    /// The store key of a scope's spend in the current period.
    fn store_key(&self, scope: &Scope) -> String {
        scope.store_key(&self.period.current(self.clock.wall()).stamp)
    }

    /// Refuses the call if any enclosing budget is already exhausted.
    pub(super) async fn admit(&self, scopes: &[Scope]) -> Result<(), BoxError> {
        for scope in scopes {
            let Some(limit) = self.limit(scope) else {
                continue;
            };
            match self.store.get(&self.store_key(scope)).await {
                Ok(spent) if spent >= limit.nano_usd() => {
                    return Err(Denied::budget_exhausted(format!(
                        "the {} budget is exhausted",
                        scope.level().as_str()
                    ))
                    .with_rule(scope.rule())
                    .into());
                }
                Ok(_) => {}
                Err(err) if self.fail_open => {
                    self.counters.fail_open.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(budget = %scope, error = %err, "budget store failed; failing open");
                }
                Err(err) => {
                    tracing::warn!(budget = %scope, error = %err, "budget store failed; failing closed");
                    return Err(Denied::unavailable("budget unavailable")
                        .with_rule(scope.rule())
                        .into());
                }
            }
        }
        Ok(())
    }

    /// Reads a scope's spend in the current period.
    pub(super) async fn spend(&self, scope: &Scope) -> Result<Spend, StoreError> {
        let current = self.period.current(self.clock.wall());
        let spent = self.store.get(&scope.store_key(&current.stamp)).await?;
        Ok(Spend {
            spent: Cost::from_nano_usd(spent),
            limit: self.limit(scope),
            period_end: current.end,
        })
    }
}

impl Shared {
    /// Charges `cost` to every scope, on a spawned task, in the period current when it runs.
    pub(super) fn charge(
        self: Arc<Self>,
        scopes: Vec<Scope>,
        cost: Cost,
        runtime: Option<&Handle>,
    ) {
        if cost == Cost::ZERO || scopes.is_empty() {
            return;
        }
        let Some(runtime) = runtime else {
            self.counters
                .charge_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(%cost, "no tokio runtime to charge a budget on; the spend is lost");
            return;
        };
        runtime.spawn(async move {
            let now = self.clock.wall();
            let current = self.period.current(now);
            let ttl = current.ttl(now);
            for scope in &scopes {
                let key = scope.store_key(&current.stamp);
                match self.store.add(&key, cost.nano_usd(), ttl).await {
                    Ok(total) => self.check_soft_limit(scope, cost, total),
                    Err(err) => {
                        self.counters.charge_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(budget = %scope, %cost, error = %err, "budget charge failed");
                    }
                }
            }
        });
    }

    /// Warns once per period and scope: when this charge is the one that crossed the soft limit.
    /// Totals only grow and each add is atomic, so exactly one charge crosses it, even across
    /// replicas.
    fn check_soft_limit(&self, scope: &Scope, cost: Cost, total: u64) {
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
