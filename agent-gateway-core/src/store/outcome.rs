//! What a limited operation decided.

use std::time::Duration;

/// The outcome of a GCRA [`take`](super::CounterStore::take).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// Whether all the units were taken. A take is all or nothing.
    pub allowed: bool,
    /// How many units a take right after this one could get.
    pub remaining: u64,
    /// How long to wait before the same take could be allowed: zero when allowed, and
    /// `Duration::MAX` when it never can (more units than the rate's limit); see
    /// [`never_allowed`](Self::never_allowed).
    pub retry_after: Duration,
    /// How long until the bucket is full again.
    pub reset_after: Duration,
}

impl Take {
    /// Whether no wait could ever allow this take, because it asked for more than the rate's
    /// burst capacity. A layer reports this as a bad request or an exhausted budget rather than
    /// as a `Retry-After`.
    pub fn never_allowed(&self) -> bool {
        !self.allowed && self.retry_after == Duration::MAX
    }
}

/// The outcome of a fixed-window [`incr_within`](super::CounterStore::incr_within).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOutcome {
    /// Whether the delta was added. It is all or nothing.
    pub admitted: bool,
    /// The total in the current window after the call (unchanged when not admitted).
    pub total: u64,
    /// How much more the window can take: `limit - total`, or zero if the total is over it.
    pub remaining: u64,
    /// How long to wait before the same call could be admitted: zero when admitted, the time
    /// until the window ends when not, and `Duration::MAX` when waiting cannot help; see
    /// [`never_admitted`](Self::never_admitted).
    pub retry_after: Duration,
    /// How long until the current window ends: zero if no window is open, `Duration::MAX` if the
    /// key never expires.
    pub reset_after: Duration,
}

impl WindowOutcome {
    /// Whether no wait could ever admit this call: the delta is above the limit, or the key
    /// never expires. A layer reports this as an exhausted budget rather than as a `Retry-After`.
    pub fn never_admitted(&self) -> bool {
        !self.admitted && self.retry_after == Duration::MAX
    }
}
