//! The breaker's state machine, shared by every clone of a [`Breaker`].

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::CircuitOpen;
use crate::clock::SharedClock;

/// When a [`Breaker`] opens, how long it stays open, and how it probes its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    failure_threshold: NonZeroU32,
    cooldown: Duration,
    max_cooldown: Duration,
    probes: NonZeroU32,
}

impl BreakerConfig {
    /// Opens after `failure_threshold` consecutive failures and stays open for `cooldown`.
    ///
    /// By default one probe is admitted when the cooldown ends, and the cooldown does not grow.
    pub fn new(failure_threshold: NonZeroU32, cooldown: Duration) -> Self {
        BreakerConfig {
            failure_threshold,
            cooldown,
            max_cooldown: cooldown,
            probes: NonZeroU32::MIN,
        }
    }

    /// How many probe calls the half-open breaker lets through at once.
    pub fn with_probes(mut self, probes: NonZeroU32) -> Self {
        self.probes = probes;
        self
    }

    /// Lets the cooldown double after each failed probe, up to `max_cooldown`.
    ///
    /// An upstream that keeps failing its probes is then probed less and less often. A
    /// `max_cooldown` shorter than the cooldown is raised to it. A successful probe resets
    /// the cooldown.
    pub fn with_max_cooldown(mut self, max_cooldown: Duration) -> Self {
        self.max_cooldown = max_cooldown.max(self.cooldown);
        self
    }

    /// Consecutive failures that open the breaker.
    pub fn failure_threshold(&self) -> NonZeroU32 {
        self.failure_threshold
    }

    /// How long the breaker stays open the first time.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// The longest the cooldown grows to.
    pub fn max_cooldown(&self) -> Duration {
        self.max_cooldown
    }

    /// How many probes the half-open breaker admits at once.
    pub fn probes(&self) -> NonZeroU32 {
        self.probes
    }
}

impl Default for BreakerConfig {
    /// Five consecutive failures, five seconds of cooldown growing up to a minute, one probe.
    fn default() -> Self {
        BreakerConfig::new(
            NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            Duration::from_secs(5),
        )
        .with_max_cooldown(Duration::from_secs(60))
    }
}

/// The observable state of a [`Breaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow; consecutive failures are counted.
    Closed,
    /// Calls are rejected until the cooldown ends.
    Open,
    /// The cooldown ended: a limited number of probe calls are let through, and their
    /// outcome closes or re-opens the breaker.
    HalfOpen,
}

/// A circuit breaker for one upstream instance.
///
/// Clones share their state, so the breaker of an instance can sit in the registry, in a
/// layer and in every in-flight call at once. Time comes from an injected
/// [`Clock`](crate::clock::Clock), so tests move it by hand.
///
/// ```text
///   closed ──N consecutive failures──▶ open ──cooldown ends──▶ half-open
///     ▲                                 ▲                         │
///     └─────────── a probe succeeds ────┼─────────────────────────┤
///                                       └── a probe fails ────────┘ (cooldown doubles, up to a max)
/// ```
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Mutex<Shared>>,
    config: BreakerConfig,
    clock: SharedClock,
}

/// The right to make one call through a [`Breaker`]; report how it went with
/// [`succeeded`](Permit::succeeded) or [`failed`](Permit::failed).
///
/// A permit dropped without a report (the call was cancelled) frees its probe slot and
/// counts as nothing.
pub struct Permit {
    breaker: Breaker,
    epoch: u64,
    probe: bool,
    reported: bool,
}

#[derive(Debug)]
struct Shared {
    state: State,
    /// Bumped on every transition, so that the outcome of a call admitted in an earlier state
    /// cannot move the current one: a slow success from before the breaker opened does not
    /// close it again.
    epoch: u64,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, cooldown: Duration },
    HalfOpen { probes: u32, cooldown: Duration },
}

/// What the breaker would do with a call now, without admitting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Closed,
    Probe,
    Rejected(Option<Duration>),
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig, clock: SharedClock) -> Self {
        Breaker {
            shared: Arc::new(Mutex::new(Shared {
                state: State::Closed { failures: 0 },
                epoch: 0,
            })),
            config,
            clock,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Its state now. An open breaker whose cooldown has ended reports
    /// [`HalfOpen`](BreakerState::HalfOpen): the next call is a probe.
    pub fn state(&self) -> BreakerState {
        match self.admission() {
            Admission::Closed => BreakerState::Closed,
            Admission::Probe => BreakerState::HalfOpen,
            Admission::Rejected(Some(_)) => BreakerState::Open,
            Admission::Rejected(None) => BreakerState::HalfOpen,
        }
    }

    /// Admits a call, or rejects it at once with [`CircuitOpen`].
    pub fn try_acquire(&self) -> Result<Permit, CircuitOpen> {
        let now = self.clock.now();
        let mut shared = self.lock();
        let probe = match shared.state {
            State::Closed { .. } => false,
            State::Open { until, cooldown } => {
                if now < until {
                    return Err(CircuitOpen::new(Some(until - now)));
                }
                tracing::debug!("circuit breaker half-open");
                shared.transition(State::HalfOpen {
                    probes: 1,
                    cooldown,
                });
                true
            }
            State::HalfOpen {
                ref mut probes,
                cooldown: _,
            } => {
                if *probes >= self.config.probes.get() {
                    return Err(CircuitOpen::new(None));
                }
                *probes += 1;
                true
            }
        };
        let epoch = shared.epoch;
        drop(shared);
        Ok(Permit {
            breaker: self.clone(),
            epoch,
            probe,
            reported: false,
        })
    }

    pub(crate) fn admission(&self) -> Admission {
        let now = self.clock.now();
        match self.lock().state {
            State::Closed { .. } => Admission::Closed,
            State::Open { until, .. } if now >= until => Admission::Probe,
            State::Open { until, .. } => Admission::Rejected(Some(until - now)),
            State::HalfOpen { probes, .. } if probes < self.config.probes.get() => Admission::Probe,
            State::HalfOpen { .. } => Admission::Rejected(None),
        }
    }

    fn record(&self, epoch: u64, probe: bool, success: bool) {
        let now = self.clock.now();
        let mut shared = self.lock();
        if shared.epoch != epoch {
            return;
        }
        match shared.state {
            State::Closed { ref mut failures } => {
                if success {
                    *failures = 0;
                    return;
                }
                *failures += 1;
                if *failures >= self.config.failure_threshold.get() {
                    tracing::debug!(failures = *failures, "circuit breaker open");
                    let cooldown = self.config.cooldown;
                    shared.transition(State::Open {
                        until: now + cooldown,
                        cooldown,
                    });
                }
            }
            State::HalfOpen { cooldown, .. } if probe => {
                if success {
                    tracing::debug!("circuit breaker closed: a probe succeeded");
                    shared.transition(State::Closed { failures: 0 });
                } else {
                    let cooldown = cooldown.saturating_mul(2).min(self.config.max_cooldown);
                    tracing::debug!(?cooldown, "circuit breaker re-opened: a probe failed");
                    shared.transition(State::Open {
                        until: now + cooldown,
                        cooldown,
                    });
                }
            }
            // Only probes are admitted while open or half-open, within the same epoch.
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }

    fn release_probe(&self, epoch: u64) {
        let mut shared = self.lock();
        if shared.epoch != epoch {
            return;
        }
        if let State::HalfOpen { ref mut probes, .. } = shared.state {
            *probes = probes.saturating_sub(1);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Every update is a single assignment: a panic elsewhere cannot leave it half-written.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    fn transition(&mut self, state: State) {
        self.state = state;
        self.epoch = self.epoch.wrapping_add(1);
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("state", &self.state())
            .field("config", &self.config)
            .finish()
    }
}

impl Permit {
    /// Whether this call is a probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// The call succeeded: a closed breaker forgets its failures, a probe closes it.
    pub fn succeeded(mut self) {
        self.reported = true;
        self.breaker.record(self.epoch, self.probe, true);
    }

    /// The call failed: a closed breaker counts it, a probe re-opens it.
    pub fn failed(mut self) {
        self.reported = true;
        self.breaker.record(self.epoch, self.probe, false);
    }

    pub(crate) fn report(self, failed: bool) {
        if failed {
            self.failed()
        } else {
            self.succeeded()
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            self.breaker.release_probe(self.epoch);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}
