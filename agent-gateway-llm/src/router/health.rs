//! The state a router keeps per deployment, and the pick among the deployments of a tier.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agent_gateway_core::upstream::balance::LoadEstimate;
use agent_gateway_core::upstream::breaker::{Breaker, BreakerState};

use super::Route;

/// Shared by every alias that names the same provider and model.
#[derive(Debug)]
pub(super) struct Health {
    pub(super) breaker: Breaker,
    cool_until: Mutex<Option<Instant>>,
    pub(super) load: LoadEstimate,
    in_flight: AtomicUsize,
}

/// Counts one call in flight on a deployment until dropped: when the call is answered, fails,
/// or is cancelled with the future that made it.
pub(super) struct InFlight<'a>(&'a Health);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Health {
    pub(super) fn new(breaker: Breaker, load: LoadEstimate) -> Self {
        Health {
            breaker,
            cool_until: Mutex::new(None),
            load,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// How long this deployment still rests after a `Retry-After`, if it does.
    pub(super) fn cooling(&self, now: Instant) -> Option<Duration> {
        let until = *self.cool_until.lock().unwrap_or_else(|e| e.into_inner());
        until
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    pub(super) fn cool_for(&self, now: Instant, after: Duration) {
        *self.cool_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(now + after);
    }

    pub(super) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self)
    }

    /// The cost of one more call here, per unit of weight: the latency estimate (Peak-EWMA,
    /// on the router's clock) times (calls in flight + 1), over the weight. Lower is better.
    fn cost(&self, weight: u32) -> f64 {
        let pending = self.in_flight.load(Ordering::Acquire) as f64;
        self.load.rtt().as_nanos() as f64 * (pending + 1.0) / f64::from(weight)
    }
}

/// A small seeded generator (SplitMix64): the pick needs cheap randomness, and tests need it
/// repeatable.
#[derive(Debug)]
pub(super) struct Rng(Mutex<u64>);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(Mutex::new(seed))
    }

    /// A seed that differs between routers and runs.
    pub(super) fn random_seed() -> u64 {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(0x5eed_u64)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&self, bound: u64) -> u64 {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        z % bound.max(1)
    }

    /// One of `candidates` (indexes into `routes`), drawn with probability proportional to
    /// its weight; `None` if there is none.
    fn weighted(&self, routes: &[Route], candidates: &[usize]) -> Option<usize> {
        let total: u64 = candidates
            .iter()
            .map(|&i| u64::from(routes[i].deployment.weight.get()))
            .sum();
        let mut ticket = self.below(total);
        for &i in candidates {
            let w = u64::from(routes[i].deployment.weight.get());
            if ticket < w {
                return Some(i);
            }
            ticket -= w;
        }
        candidates.last().copied()
    }
}

/// Picks the deployment of a tier to call next among `candidates` (indexes into `routes`,
/// each neither resting nor already tried):
///
/// - a deployment whose breaker is half-open goes first: its probe is how it gets back into
///   rotation;
/// - deployments whose breaker is open are passed over;
/// - among the closed ones, two are drawn at random in proportion to their weights, and the
///   one with the lower cost per unit of weight wins ([`Health`]): the power of two choices,
///   which avoids both the herd that always-the-fastest causes and the blindness of random.
///
/// `None` when every candidate's breaker is open.
pub(super) fn pick(rng: &Rng, routes: &[Route], candidates: &[usize]) -> Option<usize> {
    let mut closed = Vec::with_capacity(candidates.len());
    for &i in candidates {
        match routes[i].health.breaker.state() {
            BreakerState::HalfOpen => return Some(i),
            BreakerState::Closed => closed.push(i),
            BreakerState::Open => {}
        }
    }
    match closed.as_slice() {
        [] => None,
        [only] => Some(*only),
        _ => {
            let a = rng.weighted(routes, &closed)?;
            let rest: Vec<usize> = closed.iter().copied().filter(|&i| i != a).collect();
            let Some(b) = rng.weighted(routes, &rest) else {
                return Some(a);
            };
            let cost = |i: usize| routes[i].health.cost(routes[i].deployment.weight.get());
            Some(if cost(b) < cost(a) { b } else { a })
        }
    }
}
