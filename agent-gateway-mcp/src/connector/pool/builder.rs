//! Building a [`Pool`]: its instances, breaker, retry budget, attempt timeout and clock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::SharedClock;
use agent_gateway_core::upstream::balance::LoadConfig;
use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_core::upstream::error::BuildError;
use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
use serde_json::{Map, Value};
use tower::Service;
use tower::retry::budget::TpsBudget;

use crate::upstream::{BoxUpstream, UpstreamRequest};

use super::Pool;
use super::replica::{Health, Replica};

/// How long an idempotent call may take on one instance before it counts as failed and is
/// retried elsewhere, by default.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a [`Pool`] could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// No instance was given.
    #[error("pool {0} has no instance")]
    NoInstances(UpstreamName),
    /// The same instance id was given twice.
    #[error(transparent)]
    Registry(#[from] BuildError),
}

/// Builds a [`Pool`]; made by [`Pool::builder`].
pub struct PoolBuilder {
    name: UpstreamName,
    instances: Vec<(InstanceId, BoxUpstream)>,
    breaker: BreakerConfig,
    budget: Option<Arc<TpsBudget>>,
    attempt_timeout: Duration,
    clock: Option<SharedClock>,
    load: Option<LoadConfig>,
    seed: Option<u64>,
}

impl PoolBuilder {
    pub(super) fn new(name: UpstreamName) -> Self {
        PoolBuilder {
            name,
            instances: Vec::new(),
            breaker: BreakerConfig::default(),
            budget: Some(Arc::new(default_budget())),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            clock: None,
            load: None,
            seed: None,
        }
    }

    /// Adds instance `id`, reached through `connector` (an [`HttpUpstream`], an
    /// [`SseUpstream`], a stdio child or any `Service<UpstreamRequest>`).
    ///
    /// [`HttpUpstream`]: crate::connector::HttpUpstream
    /// [`SseUpstream`]: crate::connector::SseUpstream
    pub fn instance<S>(mut self, id: InstanceId, connector: S) -> Self
    where
        S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.instances.push((id, BoxUpstream::new(connector)));
        self
    }

    /// When an instance's breaker opens and how it probes back (default: core's
    /// [`BreakerConfig::default`], five consecutive failures).
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// Retries idempotent calls within `budget` (default: a 10 s window, 10 retries a second
    /// in reserve, plus 20% of calls). Share one budget among everything that calls the same
    /// instances.
    pub fn with_retry_budget(mut self, budget: impl Into<Arc<TpsBudget>>) -> Self {
        self.budget = Some(budget.into());
        self
    }

    /// Never retries: a failed instance's error reaches the caller.
    pub fn without_retries(mut self) -> Self {
        self.budget = None;
        self
    }

    /// Gives an idempotent call `timeout` on one instance before it counts as a failure of
    /// that instance and is retried elsewhere (default 10 s). Other calls (`tools/call`, a
    /// listen stream) have no attempt timeout: their caller's timeout bounds them (a
    /// federation member's, for example).
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Reads time for the breakers and load estimates from `clock` (tests: a
    /// [`ManualClock`](agent_gateway_core::ManualClock)).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How load estimates start and decay.
    pub fn with_load(mut self, config: LoadConfig) -> Self {
        self.load = Some(config);
        self
    }

    /// Seeds the balancer's random draws, for reproducible tests.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The pool.
    pub fn build(self) -> Result<Pool, PoolError> {
        if self.instances.is_empty() {
            return Err(PoolError::NoInstances(self.name));
        }
        let mut registry = Registry::builder().with_breaker(self.breaker);
        if let Some(clock) = self.clock {
            registry = registry.with_clock(clock);
        }
        if let Some(load) = self.load {
            registry = registry.with_load(load);
        }
        if let Some(seed) = self.seed {
            registry = registry.with_seed(seed);
        }
        for (id, connector) in self.instances {
            let replica = Replica::new(connector, id.clone(), self.attempt_timeout);
            registry = registry.instance(self.name.clone(), id, replica);
        }
        let balanced = registry
            .build()?
            .balanced(self.name.as_str())
            .map_err(|_| PoolError::NoInstances(self.name.clone()))?
            .with_classifier(Health);
        Ok(Pool {
            balanced,
            budget: self.budget,
        })
    }
}

/// A 10 s window, 10 retries a second in reserve, and 20% of calls.
fn default_budget() -> TpsBudget {
    TpsBudget::new(Duration::from_secs(10), 10, 0.2)
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("name", &self.name)
            .field(
                "instances",
                &self.instances.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .field("breaker", &self.breaker)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}
