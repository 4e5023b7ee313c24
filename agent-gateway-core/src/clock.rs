//! An injectable clock, so that windows, breakers and budgets can be tested without sleeping.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_core::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let start = clock.now();
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(clock.now() - start, Duration::from_secs(30));
//! assert!(clock.wall() > std::time::UNIX_EPOCH);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A source of time.
///
/// `now` is monotonic and drives windows, timeouts and circuit breakers; `wall` is calendar time
/// and drives periods that reset on the calendar (a daily or monthly budget).
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current monotonic instant.
    fn now(&self) -> Instant;
    /// The current calendar time.
    fn wall(&self) -> SystemTime;
}

/// A shared, type-erased clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
///
/// It reads tokio's clock, so a test that pauses tokio time (`start_paused = true`) moves it too.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to.
///
/// Clones share the same time, so a test keeps one handle and gives another to the code under
/// test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    now: Instant,
    wall: SystemTime,
}

impl ManualClock {
    /// A clock starting at the current instant and at the current calendar time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A clock whose calendar time starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualState {
                now: Instant::now(),
                wall,
            })),
        }
    }

    /// Moves both the monotonic and the calendar time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by;
        state.wall += by;
    }

    /// This clock as a [`SharedClock`] sharing the same time.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // The state is two plain values: a panic elsewhere cannot leave it half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.lock().now
    }

    fn wall(&self) -> SystemTime {
        self.lock().wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::from_millis(5));
        assert_eq!(b.now() - t0, Duration::from_millis(5));
    }

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_paused_tokio_time() {
        let clock = SystemClock;
        let t0 = clock.now();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(clock.now() - t0 >= Duration::from_secs(10));
    }
}
