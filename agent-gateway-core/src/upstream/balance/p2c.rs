//! The pick: probes first, then the power of two choices over the closed instances.

use std::time::Duration;

use rand::Rng;

use crate::upstream::breaker::{Admission, Permit};
use crate::upstream::error::NoHealthyInstance;
use crate::upstream::registry::Upstream;

impl<S> Upstream<S> {
    /// Picks an instance and takes a permit from its breaker.
    ///
    /// - An instance whose breaker is ready for a probe is picked first: the probe is how it
    ///   gets back into rotation, and the breaker limits how many calls it risks.
    /// - Otherwise two distinct closed instances are drawn at random and the one with the
    ///   lower cost wins (the only one, if there is one).
    /// - With no admissible instance the pick fails at once with [`NoHealthyInstance`].
    ///
    /// A breaker can change between the look and the permit (another call took the last probe
    /// slot); the pick then looks again, a bounded number of times.
    pub(crate) fn pick(&self) -> Result<(usize, Permit), NoHealthyInstance> {
        let instances = self.instances();
        let mut closed = Vec::with_capacity(instances.len());
        let mut retry_after = None;
        for _ in 0..=instances.len() {
            closed.clear();
            let mut probe = None;
            let mut soonest: Option<Duration> = None;
            let mut probing = false;
            for (index, instance) in instances.iter().enumerate() {
                match instance.breaker().admission() {
                    Admission::Closed => closed.push(index),
                    Admission::Probe => {
                        probe.get_or_insert(index);
                    }
                    Admission::Rejected(Some(wait)) => {
                        soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                    }
                    Admission::Rejected(None) => probing = true,
                }
            }
            // While probes are out, the wait is as long as they take: unknown.
            retry_after = if probing { None } else { soonest };
            let chosen = match (probe, closed.as_slice()) {
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
        Err(NoHealthyInstance::new(self.name().clone(), retry_after))
    }

    /// Draws two distinct candidates and returns the cheaper one (the first on a tie).
    fn two_choices(&self, candidates: &[usize]) -> usize {
        let (a, b) = {
            let mut rng = self.rng();
            let a = rng.random_range(0..candidates.len());
            let b = rng.random_range(0..candidates.len() - 1);
            (a, if b >= a { b + 1 } else { b })
        };
        let (a, b) = (candidates[a], candidates[b]);
        let instances = self.instances();
        if instances[b].load().cost() < instances[a].load().cost() {
            b
        } else {
            a
        }
    }
}
