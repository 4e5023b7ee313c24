//! The admission decision over all limits, and the settlement of token estimates afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agent_gateway_core::store::{Rate, SharedStore, StoreError};
use agent_gateway_core::{AgentRequest, BoxError, Denied, Usage};
use tokio::runtime::Handle;

use super::limit::{Algorithm, Limit, Unit};
use crate::key::MissingKey;

/// What the layer shares with every service it wraps.
pub(super) struct Shared {
    pub(super) store: SharedStore,
    pub(super) limits: Vec<Limit>,
    pub(super) fail_open: bool,
    pub(super) fail_open_count: Arc<AtomicU64>,
}

impl Clone for Shared {
    fn clone(&self) -> Self {
        Shared {
            store: self.store.clone(),
            limits: self.limits.clone(),
            fail_open: self.fail_open,
            fail_open_count: self.fail_open_count.clone(),
        }
    }
}

/// One limit applied to one request: the store key and how many units to charge.
#[derive(Debug)]
pub(super) struct Charge {
    index: usize,
    key: String,
    units: u64,
}

/// Reconciles a token limit's estimate with the actual usage, off the request path.
#[derive(Debug)]
pub(super) struct Settlement {
    store: SharedStore,
    key: String,
    rate: Rate,
    algorithm: Algorithm,
    estimated: u64,
    runtime: Option<Handle>,
}

impl Shared {
    /// Extracts every limit's key and amount from the request, synchronously, so that the
    /// admission future owns all it needs and the request can move on untouched.
    pub(super) fn plan(&self, req: &dyn AgentRequest) -> Result<Vec<Charge>, Denied> {
        let mut charges = Vec::with_capacity(self.limits.len());
        let action = req.action();
        for (index, limit) in self.limits.iter().enumerate() {
            if !limit.counts(action) {
                continue;
            }
            let Some(key) = limit.key.key(req) else {
                match limit.missing {
                    MissingKey::Skip => continue,
                    _ => {
                        return Err(Denied::forbidden("no quota key for this request")
                            .with_rule(limit.id.clone()));
                    }
                }
            };
            let units = match limit.unit {
                Unit::Requests => 1,
                Unit::Tokens { output_allowance } => req
                    .estimated_input_tokens()
                    .unwrap_or(0)
                    .saturating_add(output_allowance),
            };
            charges.push(Charge {
                index,
                key: limit.store_key(&key),
                units,
            });
        }
        Ok(charges)
    }

    /// Takes every charge from the store, in order; all must pass. On a denial, what the
    /// earlier GCRA limits took is given back, so a refused request costs nothing.
    pub(super) async fn admit(&self, charges: Vec<Charge>) -> Result<Vec<Settlement>, BoxError> {
        let mut taken: Vec<&Charge> = Vec::with_capacity(charges.len());
        let mut settlements = Vec::new();
        for charge in &charges {
            let limit = &self.limits[charge.index];
            let verdict = match self.decide(limit, charge).await {
                Ok(None) => {
                    taken.push(charge);
                    None
                }
                Ok(Some(denied)) => Some(denied),
                Err(err) if self.fail_open => {
                    self.fail_open_count.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(limit = %limit.id, error = %err, "quota store failed; failing open");
                    continue;
                }
                Err(err) => {
                    tracing::warn!(limit = %limit.id, error = %err, "quota store failed; failing closed");
                    Some(Denied::unavailable("quota unavailable").with_rule(limit.id.clone()))
                }
            };
            if let Some(denied) = verdict {
                self.refund(&taken).await;
                return Err(denied.into());
            }
            if let Unit::Tokens { .. } = limit.unit {
                settlements.push(Settlement {
                    store: self.store.clone(),
                    key: charge.key.clone(),
                    rate: limit.rate,
                    algorithm: limit.algorithm,
                    estimated: charge.units,
                    runtime: Handle::try_current().ok(),
                });
            }
        }
        Ok(settlements)
    }

    /// One limit's decision: `None` when admitted.
    async fn decide(&self, limit: &Limit, charge: &Charge) -> Result<Option<Denied>, StoreError> {
        let denied = match limit.algorithm {
            Algorithm::FixedWindow => {
                let outcome = self
                    .store
                    .incr_within(
                        &charge.key,
                        charge.units,
                        limit.rate.limit().get(),
                        limit.rate.period(),
                    )
                    .await?;
                (!outcome.admitted).then_some(outcome.retry_after)
            }
            _ => {
                let take = self
                    .store
                    .take(&charge.key, charge.units, limit.rate)
                    .await?;
                (!take.allowed).then_some(take.retry_after)
            }
        };
        Ok(denied.map(|retry_after| deny(limit, retry_after)))
    }

    /// Gives back what earlier limits took for a request that a later one refused. Fixed
    /// windows only count up, so only GCRA limits are refunded.
    async fn refund(&self, taken: &[&Charge]) {
        for charge in taken {
            let limit = &self.limits[charge.index];
            if limit.algorithm != Algorithm::Gcra {
                continue;
            }
            let delta = i64::try_from(charge.units).unwrap_or(i64::MAX);
            if let Err(err) = self.store.settle(&charge.key, -delta, limit.rate).await {
                tracing::warn!(limit = %limit.id, error = %err, "quota refund failed");
            }
        }
    }
}

/// The denial for a limit that refused with `retry_after`.
fn deny(limit: &Limit, retry_after: Duration) -> Denied {
    if retry_after == Duration::MAX {
        // No wait can help: the request alone is larger than the limit.
        Denied::bad_request("request exceeds the quota's limit").with_rule(limit.id.clone())
    } else {
        Denied::quota_exceeded(retry_after).with_rule(limit.id.clone())
    }
}

impl Settlement {
    /// Charges the difference between the actual tokens and the estimate, on a spawned task.
    ///
    /// For a stream that ended early (`Aborted`), `usage` is what the protocol counted up to
    /// that point; the LLM crate reports at least the input estimate plus the output relayed,
    /// so a refund never brings the quota below the tokens already relayed (finding 5).
    pub(super) fn settle(self, usage: &Usage) {
        let actual = usage.total_tokens();
        let delta = i128::from(actual) - i128::from(self.estimated);
        if delta == 0 {
            return;
        }
        let delta = i64::try_from(delta).unwrap_or(if delta > 0 { i64::MAX } else { i64::MIN });
        let Some(runtime) = self.runtime.clone() else {
            tracing::warn!(key = %self.key, "no tokio runtime to settle a token quota on");
            return;
        };
        runtime.spawn(async move {
            let result = match self.algorithm {
                Algorithm::FixedWindow if delta > 0 => self
                    .store
                    .add(&self.key, delta.unsigned_abs(), Some(self.rate.period()))
                    .await
                    .map(drop),
                Algorithm::FixedWindow => Ok(()),
                _ => self.store.settle(&self.key, delta, self.rate).await,
            };
            if let Err(err) = result {
                tracing::warn!(key = %self.key, error = %err, "token quota settlement failed");
            }
        });
    }
}
