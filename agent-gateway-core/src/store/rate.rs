//! How fast a GCRA bucket refills.

use std::num::NonZeroU64;
use std::time::Duration;

/// A GCRA rate: up to `limit` units per `period`, and at most `limit` at once.
///
/// `limit` is both the long-run rate and the burst capacity: a full bucket allows `limit` units
/// back to back, and after that one unit comes back every
/// [emission interval](Rate::emission_interval), `period / limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    limit: NonZeroU64,
    period: Duration,
}

impl Rate {
    /// `limit` units per `period`.
    pub const fn new(limit: NonZeroU64, period: Duration) -> Self {
        Rate { limit, period }
    }

    /// `limit` units per second.
    pub const fn per_second(limit: NonZeroU64) -> Self {
        Rate::new(limit, Duration::from_secs(1))
    }

    /// `limit` units per minute.
    pub const fn per_minute(limit: NonZeroU64) -> Self {
        Rate::new(limit, Duration::from_secs(60))
    }

    /// `limit` units per hour.
    pub const fn per_hour(limit: NonZeroU64) -> Self {
        Rate::new(limit, Duration::from_secs(3600))
    }

    /// The burst capacity, and the number of units per period.
    pub const fn limit(&self) -> NonZeroU64 {
        self.limit
    }

    /// The period over which `limit` units are allowed.
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The time it takes one unit to come back: `period / limit`.
    ///
    /// It is rounded up to a whole nanosecond, so that rounding never lets more than `limit`
    /// units through per period, and it is never less than one nanosecond (a zero period would
    /// otherwise mean "no limit", which a misconfiguration should not silently become).
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos())
    }

    /// [`emission_interval`](Self::emission_interval) in nanoseconds.
    pub(super) fn interval_nanos(&self) -> u64 {
        nanos(self.period).div_ceil(self.limit.get()).max(1)
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
