//! The Peak-EWMA latency estimate of an instance, and its count of calls in flight.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::SharedClock;

/// How the latency estimate of a new instance starts, and how fast it forgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadConfig {
    default_rtt: Duration,
    decay: Duration,
}

impl LoadConfig {
    /// An estimate starting at `default_rtt` whose peaks fade over `decay`.
    ///
    /// A new instance is assumed to be as slow as `default_rtt` until it has answered, so that
    /// it is not flooded before anything is known about it. A zero duration is raised to one
    /// nanosecond.
    pub fn new(default_rtt: Duration, decay: Duration) -> Self {
        LoadConfig {
            default_rtt: default_rtt.max(Duration::from_nanos(1)),
            decay: decay.max(Duration::from_nanos(1)),
        }
    }

    /// The estimate of an instance that has not answered yet.
    pub fn default_rtt(&self) -> Duration {
        self.default_rtt
    }

    /// Over how long a peak fades.
    pub fn decay(&self) -> Duration {
        self.decay
    }
}

impl Default for LoadConfig {
    /// 30 ms to start with, peaks fading over 10 s (linkerd's defaults).
    fn default() -> Self {
        LoadConfig::new(Duration::from_millis(30), Duration::from_secs(10))
    }
}

/// The load of one instance: a Peak-EWMA estimate of its latency, and how many calls to it
/// are in flight.
///
/// The [`cost`](LoadEstimate::cost) is tower's
/// [`PeakEwma`](tower::load::PeakEwma) formula: the estimate times (in-flight + 1). The
/// estimate jumps to any latency above it at once (the peak) and decays towards lower ones
/// over [`LoadConfig::decay`], so one slow answer makes an instance look slow right away and
/// only a run of fast ones makes it look fast again.
///
/// Clones share the estimate.
#[derive(Clone)]
pub struct LoadEstimate {
    shared: Arc<Shared>,
    decay_ns: f64,
    clock: SharedClock,
}

struct Shared {
    rtt: Mutex<Rtt>,
    in_flight: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
struct Rtt {
    rtt_ns: f64,
    update_at: Instant,
}

/// Counts one call in flight until it is finished or dropped.
pub(crate) struct InFlight {
    load: LoadEstimate,
    sent_at: Instant,
}

impl LoadEstimate {
    /// A fresh estimate.
    pub fn new(config: LoadConfig, clock: SharedClock) -> Self {
        let update_at = clock.now();
        LoadEstimate {
            shared: Arc::new(Shared {
                rtt: Mutex::new(Rtt {
                    rtt_ns: nanos(config.default_rtt),
                    update_at,
                }),
                in_flight: AtomicUsize::new(0),
            }),
            decay_ns: nanos(config.decay),
            clock,
        }
    }

    /// The cost of sending one more call here: the decayed latency estimate, in nanoseconds,
    /// times (in-flight + 1). Lower is better.
    pub fn cost(&self) -> f64 {
        let pending = self.in_flight();
        self.rtt_ns() * (pending as f64 + 1.0)
    }

    /// The latency estimate now, decayed for the time since it was last updated.
    pub fn rtt(&self) -> Duration {
        Duration::from_nanos(self.rtt_ns() as u64)
    }

    /// Calls to this instance that have not finished.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Feeds one observed latency into the estimate.
    pub fn record(&self, rtt: Duration) {
        let now = self.clock.now();
        self.update(nanos(rtt), now);
    }

    pub(crate) fn start(&self) -> InFlight {
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            load: self.clone(),
            sent_at: self.clock.now(),
        }
    }

    fn rtt_ns(&self) -> f64 {
        // As tower does: a zero-latency update decays the estimate towards zero for the time
        // since the last update.
        self.update(0.0, self.clock.now())
    }

    /// tower's `RttEstimate::update`, on the injected clock.
    fn update(&self, rtt_ns: f64, now: Instant) -> f64 {
        let mut estimate = self.shared.rtt.lock().unwrap_or_else(|e| e.into_inner());
        if estimate.rtt_ns < rtt_ns {
            estimate.rtt_ns = rtt_ns;
        } else {
            let elapsed = nanos(now.saturating_duration_since(estimate.update_at));
            let decay = (-elapsed / self.decay_ns).exp();
            estimate.rtt_ns = estimate.rtt_ns * decay + rtt_ns * (1.0 - decay);
        }
        estimate.update_at = estimate.update_at.max(now);
        estimate.rtt_ns
    }
}

impl InFlight {
    /// The call finished: its latency feeds the estimate.
    pub(crate) fn finish(self) {
        let now = self.load.clock.now();
        let rtt = nanos(now.saturating_duration_since(self.sent_at));
        self.load.update(rtt, now);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.load.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for LoadEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadEstimate")
            .field("rtt", &self.rtt())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

fn nanos(d: Duration) -> f64 {
    d.as_nanos() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn peaks_at_once_and_decays_slowly() {
        let clock = ManualClock::new();
        let load = LoadEstimate::new(
            LoadConfig::new(ms(30), Duration::from_secs(10)),
            clock.shared(),
        );
        assert_eq!(load.rtt(), ms(30));
        load.record(ms(200));
        assert_eq!(load.rtt(), ms(200));
        // One decay period later, a fast answer pulls the estimate only part of the way down.
        clock.advance(Duration::from_secs(10));
        load.record(ms(10));
        let rtt = load.rtt();
        assert!(rtt > ms(70) && rtt < ms(90), "{rtt:?}"); // 10 + 190/e ≈ 79.9 ms
    }

    #[test]
    fn cost_multiplies_by_calls_in_flight() {
        let clock = ManualClock::new();
        let load = LoadEstimate::new(
            LoadConfig::new(ms(10), Duration::from_secs(10)),
            clock.shared(),
        );
        assert_eq!(load.cost(), 10_000_000.0);
        let a = load.start();
        let b = load.start();
        assert_eq!(load.in_flight(), 2);
        assert_eq!(load.cost(), 30_000_000.0);
        drop(a);
        clock.advance(ms(50));
        b.finish();
        assert_eq!(load.in_flight(), 0);
        assert_eq!(load.rtt(), ms(50));
    }
}
