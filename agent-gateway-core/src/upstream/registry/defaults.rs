//! [`InstanceDefaults`]: what every instance of a registry gets unless its
//! [`InstanceConfig`](super::InstanceConfig) shares state of its own.

use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::clock::{SharedClock, SystemClock};
use crate::upstream::breaker::{Breaker, BreakerConfig};
use crate::upstream::load::{LoadConfig, LoadEstimate};

/// The settings every instance of a registry starts from: its breaker's and its latency
/// estimate's configuration, the clock both read, and the balancers' seed.
///
/// [`RegistryBuilder`](super::RegistryBuilder) holds one, and so can a protocol's own builder
/// that makes registries (the LLM router's), passing it on with
/// [`RegistryBuilder::with_defaults`](super::RegistryBuilder::with_defaults).
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use agent_gateway_core::clock::ManualClock;
/// use agent_gateway_core::upstream::{BreakerConfig, InstanceDefaults};
///
/// let clock = ManualClock::new();
/// let defaults = InstanceDefaults::new()
///     .with_clock(clock.shared())
///     .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
///     .with_seed(7);
/// assert_eq!(defaults.seed(), Some(7));
/// // Each breaker made is a new one, on the clock given, with the configuration given.
/// assert_eq!(defaults.breaker().config().failure_threshold(), NonZeroU32::MIN);
/// ```
#[derive(Debug, Clone)]
pub struct InstanceDefaults {
    clock: SharedClock,
    breaker: BreakerConfig,
    load: LoadConfig,
    seed: Option<u64>,
}

impl InstanceDefaults {
    /// The system clock, default breaker and load settings, and a random seed.
    pub fn new() -> Self {
        InstanceDefaults {
            clock: SystemClock::shared(),
            breaker: BreakerConfig::default(),
            load: LoadConfig::default(),
            seed: None,
        }
    }

    /// The clock the breakers and the latency estimates read. Defaults to [`SystemClock`].
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration of every instance's circuit breaker.
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The configuration of every instance's latency estimate.
    pub fn with_load(mut self, config: LoadConfig) -> Self {
        self.load = config;
        self
    }

    /// Seeds the balancers' random source, to make the picks reproducible in tests.
    ///
    /// By default each upstream's source is seeded once from the operating system.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The seed, if set.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// A new breaker, configured and on the clock.
    pub fn breaker(&self) -> Breaker {
        Breaker::new(self.breaker, self.clock.clone())
    }

    /// A new latency estimate, configured and on the clock.
    pub fn load(&self) -> LoadEstimate {
        LoadEstimate::new(self.load, self.clock.clone())
    }

    /// A random source for one upstream's balancer: seeded if a seed was set.
    pub(crate) fn rng(&self) -> SmallRng {
        match self.seed {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => os_seeded(),
        }
    }
}

impl Default for InstanceDefaults {
    fn default() -> Self {
        InstanceDefaults::new()
    }
}

/// A source seeded from the operating system, or, should that fail, from the calendar time:
/// the picks only need to differ between processes, not to be unpredictable.
fn os_seeded() -> SmallRng {
    SmallRng::try_from_os_rng().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        SmallRng::seed_from_u64(nanos)
    })
}
