//! The pick: the best tier with an admissible instance, then probes first, then the power of
//! two choices, weighted, over the closed instances of that tier.

use std::time::Duration;

use rand::Rng;

use crate::upstream::breaker::{Admission, Permit};
use crate::upstream::error::NoHealthyInstance;
use crate::upstream::registry::{Instance, Upstream};

/// Closed instances a tier of up to this many holds are listed on the stack: a pick over a
/// small tier (most have one to a few instances) allocates nothing.
const INLINE: usize = 8;

/// The indexes of a tier's closed instances: inline for a small tier, else on the heap.
enum Closed {
    Inline([usize; INLINE], usize),
    Heap(Vec<usize>),
}

impl Closed {
    fn for_tier(len: usize) -> Self {
        if len <= INLINE {
            Closed::Inline([0; INLINE], 0)
        } else {
            Closed::Heap(Vec::with_capacity(len))
        }
    }

    fn push(&mut self, index: usize) {
        match self {
            Closed::Inline(items, len) if *len < INLINE => {
                items[*len] = index;
                *len += 1;
            }
            Closed::Inline(items, _) => {
                let mut heap = items.to_vec();
                heap.push(index);
                *self = Closed::Heap(heap);
            }
            Closed::Heap(items) => items.push(index),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Closed::Inline(items, len) => &items[..*len],
            Closed::Heap(items) => items,
        }
    }
}

/// What one look at a tier found.
struct Look {
    probe: Option<usize>,
    closed: Closed,
    /// The soonest an open breaker of the tier half-opens.
    soonest: Option<Duration>,
    /// Whether a breaker of the tier has its probes out (its wait is unknown).
    probing: bool,
}

impl<S> Upstream<S> {
    /// Picks an instance among those for which `eligible` holds, and takes a permit from its
    /// breaker.
    ///
    /// - Tiers are tried in order (lowest first); the next tier is used only when no
    ///   instance of the better ones is admissible.
    /// - Within a tier, an instance whose breaker is ready for a probe is picked first: the
    ///   probe is how it gets back into rotation, and the breaker limits how many calls it
    ///   risks.
    /// - Otherwise two distinct closed instances are drawn at random in proportion to their
    ///   weights, and the one with the lower cost per unit of weight wins (the only one, if
    ///   there is one).
    /// - With no admissible instance the pick fails at once with [`NoHealthyInstance`].
    ///
    /// A breaker can change between the look and the permit (another call took the last probe
    /// slot); the pick then looks again, a bounded number of times.
    pub(crate) fn pick(
        &self,
        eligible: impl Fn(usize) -> bool,
    ) -> Result<(usize, Permit), NoHealthyInstance> {
        let instances = self.instances();
        let mut soonest: Option<Duration> = None;
        let mut probing = false;
        for tier in self.tiers() {
            for _ in 0..=tier.len() {
                let look = look(instances, tier, &eligible);
                soonest = min(soonest, look.soonest);
                probing |= look.probing;
                let chosen = match (look.probe, look.closed.as_slice()) {
                    (Some(index), _) => index,
                    (None, []) => break,
                    (None, [only]) => *only,
                    (None, candidates) => self.two_choices(candidates),
                };
                if let Ok(permit) = instances[chosen].breaker().try_acquire() {
                    tracing::trace!(
                        upstream = %self.name(),
                        instance = %instances[chosen].id(),
                        probe = permit.is_probe(),
                        "picked instance"
                    );
                    return Ok((chosen, permit));
                }
            }
        }
        // While probes are out, the wait is as long as they take: unknown.
        let retry_after = if probing { None } else { soonest };
        Err(NoHealthyInstance::new(self.name().clone(), retry_after))
    }

    /// Draws two distinct candidates, each in proportion to its weight, and returns the one
    /// with the lower cost per unit of weight (the first on a tie).
    fn two_choices(&self, candidates: &[usize]) -> usize {
        let instances = self.instances();
        let weight = |i: usize| u64::from(instances[i].weight().get());
        let (a, b) = {
            let mut rng = self.rng();
            let total: u64 = candidates.iter().map(|&i| weight(i)).sum();
            let a = draw(candidates, &weight, rng.random_range(0..total), None);
            let rest = total - weight(a);
            let b = draw(candidates, &weight, rng.random_range(0..rest), Some(a));
            (a, b)
        };
        let cost = |i: usize| instances[i].load().cost() / weight(i) as f64;
        if cost(b) < cost(a) { b } else { a }
    }
}

/// Which instances of `tier` are admissible now.
fn look<S>(instances: &[Instance<S>], tier: &[usize], eligible: &impl Fn(usize) -> bool) -> Look {
    let mut look = Look {
        probe: None,
        closed: Closed::for_tier(tier.len()),
        soonest: None,
        probing: false,
    };
    for &index in tier.iter().filter(|&&i| eligible(i)) {
        match instances[index].breaker().admission() {
            Admission::Closed => look.closed.push(index),
            Admission::Probe => {
                look.probe.get_or_insert(index);
            }
            Admission::Rejected(Some(wait)) => look.soonest = min(look.soonest, Some(wait)),
            Admission::Rejected(None) => look.probing = true,
        }
    }
    look
}

/// The candidate whose share of the total weight holds `ticket`, skipping `skip`.
fn draw(
    candidates: &[usize],
    weight: &impl Fn(usize) -> u64,
    mut ticket: u64,
    skip: Option<usize>,
) -> usize {
    let mut last = candidates[0];
    for &i in candidates.iter().filter(|&&i| Some(i) != skip) {
        last = i;
        if ticket < weight(i) {
            return i;
        }
        ticket -= weight(i);
    }
    last
}

fn min(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
