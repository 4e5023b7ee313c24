//! The rest a deployment takes after a `Retry-After`, shared by every alias naming it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Until when a deployment rests, on the router's clock.
#[derive(Debug, Default)]
pub(super) struct Rest {
    until: Mutex<Option<Instant>>,
}

impl Rest {
    /// How long the deployment still rests at `now`, if it does.
    pub(super) fn remaining(&self, now: Instant) -> Option<Duration> {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        until
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Rests for `after`, from `now`: at most core's
    /// [`MAX_RETRY_AFTER`](agent_gateway_core::upstream::retry_after::MAX_RETRY_AFTER), and
    /// without overflowing the instant.
    pub(super) fn rest_for(&self, now: Instant, after: Duration) {
        let until = agent_gateway_core::upstream::retry_after::rest_until(now, after);
        *self.until.lock().unwrap_or_else(|e| e.into_inner()) = Some(until);
    }
}
