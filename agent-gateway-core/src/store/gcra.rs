//! The GCRA arithmetic, on plain nanosecond integers, apart from any storage.
//!
//! A store feeds it the key's stored theoretical arrival time (TAT) and its clock reading, and
//! writes back what it returns. Keeping it pure keeps [`MemoryStore`](super::MemoryStore) and the
//! documented semantics (which a Lua script reproduces) one and the same.

use std::time::Duration;

use super::outcome::Take;
use super::rate::Rate;

/// A [`Rate`] turned into the integers the algorithm works with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gcra {
    /// `T`: nanoseconds for one unit to come back.
    interval: u64,
    /// `L`: the burst capacity.
    limit: u64,
    /// `L * T`: how far ahead of now the TAT may be.
    tolerance: u64,
}

impl Gcra {
    pub(super) fn new(rate: Rate) -> Self {
        let interval = rate.interval_nanos();
        let limit = rate.limit().get();
        Gcra {
            interval,
            limit,
            tolerance: interval.saturating_mul(limit),
        }
    }

    /// Decides a take of `n` units. Returns the outcome and, when the state changes, the TAT to
    /// store.
    pub(super) fn take(&self, stored: Option<u64>, now: u64, n: u64) -> (Take, Option<u64>) {
        let tat = stored.map_or(now, |tat| tat.max(now));
        let used = tat - now;
        let denied = |retry_after| Take {
            allowed: false,
            remaining: self.remaining(used),
            retry_after,
            reset_after: Duration::from_nanos(used),
        };
        if n > self.limit {
            return (denied(Duration::MAX), None);
        }
        let new_tat = tat.saturating_add(self.interval.saturating_mul(n));
        let new_used = new_tat - now;
        if new_used > self.tolerance {
            return (
                denied(Duration::from_nanos(new_used - self.tolerance)),
                None,
            );
        }
        let allowed = Take {
            allowed: true,
            remaining: self.remaining(new_used),
            retry_after: Duration::ZERO,
            reset_after: Duration::from_nanos(new_used),
        };
        (allowed, (n > 0).then_some(new_tat))
    }

    /// The TAT after settling `delta` units. A result at or before `now` (or `None`) means the
    /// key holds nothing and can be deleted.
    pub(super) fn settle(&self, stored: Option<u64>, now: u64, delta: i64) -> Option<u64> {
        let cost = self.interval.saturating_mul(delta.unsigned_abs());
        if delta > 0 {
            Some(stored.map_or(now, |tat| tat.max(now)).saturating_add(cost))
        } else {
            stored.map(|tat| tat.saturating_sub(cost).max(now))
        }
    }

    /// Units available when the TAT is `used` nanoseconds ahead of now.
    fn remaining(&self, used: u64) -> u64 {
        self.tolerance.saturating_sub(used) / self.interval
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use super::*;

    const MS: u64 = 1_000_000;

    fn ten_per_second() -> Gcra {
        Gcra::new(Rate::per_second(NonZeroU64::new(10).expect("non-zero")))
    }

    #[test]
    fn integers_follow_the_rate() {
        let g = ten_per_second();
        assert_eq!(
            (g.interval, g.limit, g.tolerance),
            (100 * MS, 10, 1_000 * MS)
        );
    }

    #[test]
    fn remaining_is_the_largest_take_that_would_pass() {
        let g = ten_per_second();
        let now = 5_000 * MS;
        for used in [
            0,
            1,
            99 * MS,
            100 * MS,
            101 * MS,
            950 * MS,
            1_000 * MS,
            3_000 * MS,
        ] {
            let (peek, _) = g.take(Some(now + used), now, 0);
            let r = peek.remaining;
            if r < g.limit {
                assert!(
                    !g.take(Some(now + used), now, r + 1).0.allowed,
                    "used {used}"
                );
            }
            if used <= g.tolerance {
                assert!(g.take(Some(now + used), now, r).0.allowed, "used {used}");
            }
        }
    }

    #[test]
    fn in_debt_even_a_take_of_zero_waits_for_the_debt() {
        let g = ten_per_second();
        let (take, tat) = g.take(Some(4_000 * MS), 1_000 * MS, 0);
        assert!(!take.allowed);
        assert_eq!(take.remaining, 0);
        assert_eq!(take.retry_after, Duration::from_millis(2_000));
        assert_eq!(tat, None);
    }

    #[test]
    fn a_stale_tat_counts_as_now() {
        let g = ten_per_second();
        let (take, tat) = g.take(Some(10), 500 * MS, 1);
        assert!(take.allowed);
        assert_eq!(take.remaining, 9);
        assert_eq!(tat, Some(600 * MS));
    }

    #[test]
    fn settle_arithmetic() {
        let g = ten_per_second();
        let now = 1_000 * MS;
        assert_eq!(g.settle(None, now, 3), Some(1_300 * MS));
        assert_eq!(g.settle(Some(10), now, 1), Some(1_100 * MS));
        assert_eq!(g.settle(Some(1_500 * MS), now, -2), Some(1_300 * MS));
        assert_eq!(g.settle(Some(1_500 * MS), now, -9), Some(now));
        assert_eq!(g.settle(Some(1_500 * MS), now, i64::MIN), Some(now));
        assert_eq!(g.settle(None, now, -1), None);
        assert_eq!(g.settle(Some(1_500 * MS), now, 0), Some(1_500 * MS));
        assert_eq!(g.settle(Some(1), now, i64::MAX), Some(u64::MAX));
    }
}
