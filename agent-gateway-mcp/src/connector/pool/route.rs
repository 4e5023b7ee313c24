//! Where one attempt goes: p2c over the pool, the session's own instance, or (for a retry)
//! the best instance not tried yet.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use agent_gateway_core::upstream::balance::Failover;
use agent_gateway_core::upstream::balance::future::InstanceCall;
use agent_gateway_core::upstream::balance::future::ResponseFuture as Attempted;
use agent_gateway_core::upstream::breaker::BreakerState;
use agent_gateway_core::upstream::registry::Instance;
use tower::Service;

use super::Pool;
use super::replica::{Health, Replica};
use crate::upstream::UpstreamRequest;

/// One attempt in flight.
pub(crate) type Attempt = Attempted<
    InstanceCall<Replica, UpstreamRequest, <Replica as Service<UpstreamRequest>>::Future>,
    Health,
>;

/// Where the next attempt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Core's p2c pick over every admissible instance.
    Balanced,
    /// This instance (by index in the registry).
    Instance(usize),
}

impl Pool {
    /// Chooses where a call goes, skipping the instances in `tried`; `None` when no untried
    /// instance is admissible.
    ///
    /// - A legacy client session (`key`) goes to the first admissible instance in its own
    ///   rendezvous order, so that it lands on the same instance every time while that one is
    ///   healthy, and on the same next one when it is not.
    /// - Otherwise the first attempt is core's p2c pick, and a retry goes to the cheapest
    ///   admissible instance not tried yet.
    pub(crate) fn choose(&self, key: Option<&str>, tried: &[usize]) -> Option<Choice> {
        let instances = self.balanced.upstream().instances();
        let untried = |i: &usize| !tried.contains(i) && admissible(&instances[*i]);
        if let Some(key) = key {
            let found = rendezvous(key, instances).into_iter().find(untried);
            return match found {
                Some(index) => Some(Choice::Instance(index)),
                // Core's pick then refuses with `NoHealthyInstance`, and its retry-after.
                None if tried.is_empty() => Some(Choice::Balanced),
                None => None,
            };
        }
        if tried.is_empty() {
            return Some(Choice::Balanced);
        }
        (0..instances.len())
            .filter(untried)
            .min_by(|a, b| {
                let cost = |i: &usize| instances[*i].load().cost();
                cost(a).total_cmp(&cost(b))
            })
            .map(Choice::Instance)
    }

    /// Starts one attempt where `choice` says.
    pub(crate) fn dispatch(&self, choice: Choice, req: UpstreamRequest) -> Attempt {
        let instance = match choice {
            Choice::Balanced => None,
            Choice::Instance(index) => Some(self.balanced.upstream().instances()[index].id()),
        };
        // An instance can refuse between the look and the call (a half-open breaker whose
        // probe slots another call just took): the call is then balanced over the others,
        // since it reached nothing.
        let pinned =
            instance.and_then(|id| self.balanced.pin(id.as_str(), Failover::Rebalance).ok());
        match pinned {
            Some(mut pinned) => pinned.call(req),
            None => self.balanced.clone().call(req),
        }
    }
}

/// An instance whose breaker lets a call through now (closed, or ready for a probe).
fn admissible<T>(instance: &Instance<T>) -> bool {
    instance.breaker().state() != BreakerState::Open
}

/// The instances in `key`'s rendezvous (highest random weight) order: each instance scores
/// `hash(key, id)`, highest first. Every gateway replica computes the same order with no
/// shared state and no table to bound, and when an instance leaves, only the sessions it
/// held move.
fn rendezvous<T>(key: &str, instances: &[Instance<T>]) -> Vec<usize> {
    let mut scored: Vec<(u64, usize)> = instances
        .iter()
        .enumerate()
        .map(|(index, instance)| {
            // SipHash with fixed keys: the same order in every process.
            let mut hasher = DefaultHasher::new();
            (key, instance.id().as_str()).hash(&mut hasher);
            (hasher.finish(), index)
        })
        .collect();
    scored.sort_unstable_by(|a, b| b.cmp(a));
    scored.into_iter().map(|(_, index)| index).collect()
}
