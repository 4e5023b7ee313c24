//! Error types

use std::time::Duration;

/// The circuit is open: the call was rejected without reaching the upstream.
///
/// The breaker saw too many consecutive failures and is giving the upstream time to recover.
/// A protocol front renders it as "service unavailable", with [`retry_after`] as the
/// `Retry-After` hint when it is known.
///
/// [`retry_after`]: CircuitOpen::retry_after
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit open: the upstream is failing and calls to it are paused")]
pub struct CircuitOpen {
    retry_after: Option<Duration>,
}

impl CircuitOpen {
    pub(crate) fn new(retry_after: Option<Duration>) -> Self {
        CircuitOpen { retry_after }
    }

    /// How long until the breaker admits a probe again.
    ///
    /// `None` when the breaker is already half-open and every probe slot is taken: the wait
    /// depends on how fast the probes finish.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}
