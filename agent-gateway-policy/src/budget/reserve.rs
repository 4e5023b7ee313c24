//! Admission reserves a call's estimated cost atomically; the settlement corrects it to the
//! actual cost when the call ends (finding 13).
//!
//! Each budget has two accumulators per period, both only growing: `gross` (reservations and
//! charges above them) and `credit` (what settlements gave back). The spend is
//! `gross - credit`. A reservation is one
//! [`incr_within`](agent_gateway_core::store::CounterStore::incr_within) on `gross` with the
//! limit raised by the credit read just before. The credit only grows, so a stale read only
//! makes the admission stricter: no interleaving of admissions, even across replicas sharing a
//! store, reserves past the limit.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agent_gateway_core::store::StoreError;
use agent_gateway_core::{BoxError, Cost, Denied};
use tokio::runtime::Handle;

use super::charge::Shared;
use super::scope::Scope;

/// The window of a reservation on a budget that never resets ([`Period::Never`]): a key the
/// store keeps for a century is one it keeps for good.
///
/// [`Period::Never`]: super::Period::Never
const NEVER_WINDOW: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What one admitted call holds on its budgets, until it is settled or dropped.
///
/// Settled with the call's cost when its usage is known; dropped unsettled (the call failed,
/// or its response reported no usage), it gives every reservation back.
pub(super) struct Reservation {
    shared: Arc<Shared>,
    /// Every enclosing scope, with what was reserved on it (zero for one without a limit, or
    /// whose store failed open).
    held: Vec<(Scope, u64)>,
    /// The period the reservation was made in: its correction goes there too.
    stamp: String,
    ttl: Option<Duration>,
    runtime: Option<Handle>,
}

impl Shared {
    /// Reserves `estimate` on every limited scope, broadest first; all must admit it. A scope
    /// admits a reservation `r` when `spent + r <= limit`, and a call without an estimate when
    /// `spent < limit`. On a refusal, what earlier scopes reserved is given back.
    pub(super) async fn reserve(
        self: &Arc<Self>,
        scopes: Vec<Scope>,
        estimate: Cost,
    ) -> Result<Reservation, BoxError> {
        let now = self.clock.wall();
        let current = self.period.current(now);
        let ttl = current.ttl(now);
        let mut reservation = Reservation {
            shared: self.clone(),
            held: Vec::with_capacity(scopes.len()),
            stamp: current.stamp,
            ttl,
            runtime: Handle::try_current().ok(),
        };
        let amount = estimate.nano_usd();
        let window = ttl.unwrap_or(NEVER_WINDOW).max(Duration::from_millis(1));
        for scope in scopes {
            let Some(limit) = self.limit(&scope) else {
                reservation.held.push((scope, 0));
                continue;
            };
            let refused = match self
                .take(&scope, &reservation.stamp, amount, limit, window)
                .await
            {
                Ok(true) => {
                    reservation.held.push((scope, amount));
                    continue;
                }
                Ok(false) => Denied::budget_exhausted(format!(
                    "the {} budget is exhausted",
                    scope.level().as_str()
                ))
                .with_rule(scope.rule()),
                Err(err) if self.fail_open => {
                    self.counters.fail_open.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(budget = %scope, error = %err, "budget store failed; failing open");
                    reservation.held.push((scope, 0));
                    continue;
                }
                Err(err) => {
                    tracing::warn!(budget = %scope, error = %err, "budget store failed; failing closed");
                    Denied::unavailable("budget unavailable").with_rule(scope.rule())
                }
            };
            // Dropping the reservation gives back what the broader scopes reserved.
            drop(reservation);
            return Err(refused.into());
        }
        Ok(reservation)
    }

    /// One atomic reservation of `amount` on `scope`: whether it was admitted.
    async fn take(
        &self,
        scope: &Scope,
        stamp: &str,
        amount: u64,
        limit: Cost,
        window: Duration,
    ) -> Result<bool, StoreError> {
        let credit = self.store.get(&scope.credit_key(stamp)).await?;
        let ceiling = limit.nano_usd().saturating_add(credit);
        // Without an estimate, `spent < limit` is `gross + 0 <= limit + credit - 1`.
        let ceiling = if amount == 0 {
            match ceiling.checked_sub(1) {
                Some(c) => c,
                None => return Ok(false),
            }
        } else {
            ceiling
        };
        let outcome = self
            .store
            .incr_within(&scope.store_key(stamp), amount, ceiling, window)
            .await?;
        Ok(outcome.admitted)
    }
}

impl Reservation {
    /// Corrects every reservation to `cost`, on a spawned task: the excess is charged to
    /// `gross`, the unused part credited back.
    pub(super) fn settle(mut self, cost: Cost) {
        let held = std::mem::take(&mut self.held);
        self.spawn(held, cost);
    }

    fn spawn(&self, held: Vec<(Scope, u64)>, cost: Cost) {
        let soft_check = self.shared.soft_percent.is_some() && cost > Cost::ZERO;
        if !soft_check && held.iter().all(|(_, r)| *r == cost.nano_usd()) {
            return;
        }
        let shared = self.shared.clone();
        let Some(runtime) = self.runtime.as_ref() else {
            shared
                .counters
                .charge_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(%cost, "no tokio runtime to settle a budget on; the correction is lost");
            return;
        };
        let (stamp, ttl) = (self.stamp.clone(), self.ttl);
        runtime.spawn(async move {
            for (scope, reserved) in &held {
                let actual = cost.nano_usd();
                let result = if actual > *reserved {
                    let key = scope.store_key(&stamp);
                    shared.store.add(&key, actual - reserved, ttl).await
                } else if actual < *reserved {
                    let key = scope.credit_key(&stamp);
                    shared.store.add(&key, reserved - actual, ttl).await
                } else {
                    Ok(0)
                };
                if let Err(err) = result {
                    shared
                        .counters
                        .charge_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(budget = %scope, %cost, error = %err, "budget charge failed");
                    continue;
                }
                if soft_check && let Ok(total) = shared.spent(scope, &stamp).await {
                    shared.check_soft_limit(scope, cost, total);
                }
            }
        });
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        if held.iter().any(|(_, r)| *r > 0) {
            self.spawn(held, Cost::ZERO);
        }
    }
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("held", &self.held)
            .field("stamp", &self.stamp)
            .finish_non_exhaustive()
    }
}
