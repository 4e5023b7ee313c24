//! The decision on one call of a run: depth, wall time, loops, reported and counted limits;
//! then the signed remainder for the next hop and the charge of the call's usage.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::store::StoreError;
use agent_gateway_core::{Action, AgentRequest, Denied, RunId, Usage};
use http::HeaderValue;

use super::limits::{LimitName, RunLimits, counts_as_step};
use super::loops::{
    LoopMode, RULE_HOP_CYCLE, RULE_REPEATED_MODEL, RULE_REPEATED_TOOL, RUN_WARNING_HEADER,
};
use super::shared::{RunScope, Shared, random_id};
use super::token::{Hop, HopKeys, MAX_PATH};
use crate::admit::OnUsage;

/// Everything the decision needs from the request, taken before it moves on.
pub(super) struct Plan {
    run: RunId,
    depth: u32,
    hop: Option<Arc<Hop>>,
    own: RunLimits,
    action: Action,
    target: Option<String>,
    args_hash: Option<String>,
    /// Where a warning is said on the answer, when a front attached the set.
    notes: Option<PolicyHeaders>,
}

/// What an admitted call carries on: the header for the next hop, and what to charge.
pub(super) struct Admitted {
    pub(super) header: Option<HeaderValue>,
    pub(super) on_usage: Option<OnUsage>,
}

fn exhausted(name: LimitName) -> Denied {
    Denied::budget_exhausted(format!("run budget exhausted: {name}")).with_rule(name.rule_id())
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Plan {
    /// The plan for `req`, or `None` when it belongs to no run.
    pub(super) fn of(shared: &Shared, req: &dyn AgentRequest) -> Option<Plan> {
        let run = req.run_id()?.clone();
        let scope = req.extensions().get::<RunScope>()?;
        let action = req.action();
        let loops =
            shared.loops.is_some() && matches!(action, Action::ToolCall | Action::ModelCall);
        Some(Plan {
            run,
            depth: scope.depth,
            hop: scope.hop.clone(),
            own: shared.own_limits(req),
            action,
            target: req.target().map(str::to_owned),
            args_hash: loops.then(|| {
                super::loops::canonical_hash(req.arguments().unwrap_or(&serde_json::Value::Null))
            }),
            notes: req.extensions().get::<PolicyHeaders>().cloned(),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("run:{}:{name}", self.run)
    }

    fn hop_key(&self, hop: &Hop, name: &str) -> String {
        format!("run:{}:hop:{}:{name}", self.run, hop.id)
    }

    /// The remainder handed to this hop, as limits (empty for a run's first agent).
    fn rem(&self) -> RunLimits {
        self.hop.as_ref().map(|h| h.rem).unwrap_or_default()
    }
}

impl Shared {
    /// Decides on `plan`; a store failure fails closed unless the layer fails open.
    pub(super) async fn admit(self: Arc<Self>, plan: Plan) -> Result<Admitted, Denied> {
        match self.decide(&plan).await {
            Ok(admitted) => Ok(admitted),
            Err(Decision::Denied(denied)) => Err(denied),
            Err(Decision::Store(err)) if self.fail_open => {
                self.counters.fail_open.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %err, run = %plan.run, "run: store failed, failing open");
                Ok(Admitted {
                    header: None,
                    on_usage: None,
                })
            }
            Err(Decision::Store(err)) => {
                tracing::warn!(error = %err, run = %plan.run, "run: store failed, failing closed");
                Err(Denied::unavailable("run budget unavailable"))
            }
        }
    }

    async fn decide(self: &Arc<Self>, plan: &Plan) -> Result<Admitted, Decision> {
        let rem = plan.rem();
        let eff = plan.own.min(rem);
        if eff.depth.is_some_and(|max| plan.depth > max) {
            return Err(exhausted(LimitName::Depth).into());
        }
        let now = unix_ms(self.clock.wall());
        let deadline = self.deadline(plan, now).await?;
        if deadline.is_some_and(|d| now > d) {
            return Err(exhausted(LimitName::WallTime).into());
        }
        self.loops(plan).await?;
        // Tokens and cost: admitted while any is left, charged when the response ends.
        let mut next = RunLimits::new();
        for name in [LimitName::Tokens, LimitName::Cost] {
            let left = self.left(plan, name, None).await?;
            if left == Some(0) {
                return Err(exhausted(name).into());
            }
            if let Some(left) = left {
                next.set(name, left);
            }
        }
        // Counted limits: the hop's remainder first, then the run's own, each atomic.
        let counted = eff.counted(plan.action);
        for &(name, _) in &counted {
            let left = self.left(plan, name, Some(1)).await?;
            if let Some(left) = left {
                next.set(name, left);
            }
        }
        for name in [
            LimitName::Steps,
            LimitName::ToolCalls,
            LimitName::ModelCalls,
        ] {
            if next.get(name).is_some() || counted.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(left) = self.left(plan, name, None).await? {
                next.set(name, left);
            }
        }
        next.depth = eff.depth;
        let header = self.next_header(plan, next, deadline);
        Ok(Admitted {
            header,
            on_usage: self.charger(plan),
        })
    }

    /// What is left of `name` for this call, after taking `take` of it if given: the smaller
    /// of the run's own remainder and the hop's. `None` when neither limits it.
    async fn left(
        &self,
        plan: &Plan,
        name: LimitName,
        take: Option<u64>,
    ) -> Result<Option<u64>, Decision> {
        let mut left: Option<u64> = None;
        let hop_limit = plan
            .hop
            .as_ref()
            .and_then(|h| h.rem.get(name).map(|l| (h, l)));
        let scopes = [
            hop_limit.map(|(h, l)| (plan.hop_key(h, name.as_str()), l)),
            plan.own.get(name).map(|l| (plan.key(name.as_str()), l)),
        ];
        for (key, limit) in scopes.into_iter().flatten() {
            let remaining = match take {
                Some(n) => {
                    let out = self
                        .store
                        .incr_within(&key, n, limit, self.state_ttl)
                        .await?;
                    if !out.admitted {
                        return Err(exhausted(name).into());
                    }
                    out.remaining
                }
                None => limit.saturating_sub(self.store.get(&key).await?),
            };
            left = Some(left.map_or(remaining, |l| l.min(remaining)));
        }
        Ok(left)
    }

    /// The run's deadline in Unix milliseconds: the hop's, and the run's own from its first
    /// call, whichever is earlier.
    async fn deadline(&self, plan: &Plan, now: u64) -> Result<Option<u64>, Decision> {
        let handed = plan.hop.as_ref().and_then(|h| h.deadline_ms);
        let Some(wall) = plan.own.wall_ms else {
            return Ok(handed);
        };
        // The first call records the start: admitted only while the key is empty.
        let out = self
            .store
            .incr_within(&plan.key("start"), now, now, self.state_ttl)
            .await?;
        let own = out.total.saturating_add(wall);
        Ok(Some(handed.map_or(own, |h| h.min(own))))
    }

    async fn loops(&self, plan: &Plan) -> Result<(), Decision> {
        let Some(loops) = self.loops else {
            return Ok(());
        };
        let target = plan.target.as_deref().unwrap_or("");
        let rule = match (plan.action, &plan.args_hash) {
            (Action::ToolCall | Action::ModelCall, Some(hash)) => {
                let kind = if plan.action == Action::ToolCall {
                    "tool"
                } else {
                    "model"
                };
                let key = plan.key(&format!("loop:{kind}:{target}:{hash}"));
                let seen = self.store.incr(&key, 1, loops.window).await?;
                let rule = match plan.action {
                    Action::ToolCall => RULE_REPEATED_TOOL,
                    _ => RULE_REPEATED_MODEL,
                };
                (seen >= loops.repeats.get()).then_some(rule)
            }
            (Action::AgentMessage, _) if loops.hop_cycles => {
                let path = plan.hop.as_ref().map(|h| h.path.as_slice()).unwrap_or(&[]);
                (path.iter().any(|p| p == target) || path.len() >= MAX_PATH)
                    .then_some(RULE_HOP_CYCLE)
            }
            _ => None,
        };
        let Some(rule) = rule else {
            return Ok(());
        };
        match loops.mode {
            LoopMode::Warn => {
                self.counters.loop_warnings.fetch_add(1, Ordering::Relaxed);
                self.store
                    .add(&plan.key("warnings"), 1, Some(self.state_ttl))
                    .await?;
                tracing::warn!(run = %plan.run, rule, target, "run: loop detected");
                if let Some(notes) = &plan.notes {
                    notes.warn(&RUN_WARNING_HEADER, rule);
                }
                Ok(())
            }
            LoopMode::Block => {
                self.counters.loop_blocks.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(run = %plan.run, rule, target, "run: loop blocked");
                Err(Denied::forbidden(format!("loop detected: {rule}"))
                    .with_rule(rule)
                    .into())
            }
        }
    }

    /// The signed header for the next hop, when the layer holds a key and the call is a step.
    fn next_header(
        &self,
        plan: &Plan,
        rem: RunLimits,
        deadline: Option<u64>,
    ) -> Option<HeaderValue> {
        let keys: &HopKeys = self.keys.as_ref()?;
        if !counts_as_step(plan.action) {
            return None;
        }
        let mut path = plan
            .hop
            .as_ref()
            .map(|h| h.path.clone())
            .unwrap_or_default();
        if let (Action::AgentMessage, Some(target)) = (plan.action, &plan.target) {
            path.push(target.clone());
        }
        let hop = Hop {
            run: plan.run.as_str().to_owned(),
            depth: plan.depth.saturating_add(1),
            exp: HopKeys::expiry(self.clock.wall(), self.header_ttl),
            path,
            rem,
            deadline_ms: deadline,
            id: random_id(12),
        };
        HeaderValue::from_str(&keys.sign(&hop)).ok()
    }

    /// Charges tokens and cost to the run and the hop when the response ends.
    fn charger(self: &Arc<Self>, plan: &Plan) -> Option<OnUsage> {
        let mut keys = Vec::new();
        for name in [LimitName::Tokens, LimitName::Cost] {
            if plan.own.get(name).is_some() {
                keys.push((name, plan.key(name.as_str())));
            }
            if let Some(hop) = plan.hop.as_ref().filter(|h| h.rem.get(name).is_some()) {
                keys.push((name, plan.hop_key(hop, name.as_str())));
            }
        }
        if keys.is_empty() {
            return None;
        }
        let shared = self.clone();
        Some(Box::new(move |usage: &Usage| {
            let tokens = usage.total_tokens();
            let cost = usage.cost.map_or(0, |c| c.nano_usd());
            let handle = tokio::runtime::Handle::try_current();
            let Ok(handle) = handle else { return };
            handle.spawn(async move {
                for (name, key) in keys {
                    let delta = if name == LimitName::Tokens {
                        tokens
                    } else {
                        cost
                    };
                    if delta == 0 {
                        continue;
                    }
                    if let Err(err) = shared.store.add(&key, delta, Some(shared.state_ttl)).await {
                        shared
                            .counters
                            .charge_failures
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %err, "run: charge failed");
                    }
                }
            });
        }))
    }
}

/// Why a decision did not admit: a denial, or the store failed.
pub(super) enum Decision {
    Denied(Denied),
    Store(StoreError),
}

impl From<Denied> for Decision {
    fn from(d: Denied) -> Self {
        Decision::Denied(d)
    }
}

impl From<StoreError> for Decision {
    fn from(e: StoreError) -> Self {
        Decision::Store(e)
    }
}
