use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tower::Service;
use tower::util::BoxCloneSyncService;

use agent_gateway_core::upstream::breaker::{Breaker, BreakerConfig};
use agent_gateway_core::{BoxError, SharedClock, SystemClock};

use super::{Deployment, Health, Route, Router, Table};
use crate::LlmResponse;
use crate::provider::{BoxProvider, ProviderRequest};

/// Builds a [`Router`]: providers by name, then aliases naming them.
#[derive(Debug)]
#[must_use]
pub struct RouterBuilder {
    providers: HashMap<String, BoxProvider>,
    aliases: Vec<(String, Deployment)>,
    breaker: BreakerConfig,
    clock: SharedClock,
    owned_by: String,
}

/// Why a router could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// A deployment names a provider that was not registered.
    #[error("alias `{alias}` names the unknown provider `{provider}`")]
    UnknownProvider {
        /// The alias.
        alias: String,
        /// The provider it names.
        provider: String,
    },
}

impl RouterBuilder {
    pub(super) fn new() -> Self {
        RouterBuilder {
            providers: HashMap::new(),
            aliases: Vec::new(),
            breaker: BreakerConfig::default(),
            clock: SystemClock::shared(),
            owned_by: "agent-gateway".to_owned(),
        }
    }

    /// Registers a provider under `name`.
    pub fn provider<P>(mut self, name: impl Into<String>, provider: P) -> Self
    where
        P: Service<ProviderRequest, Response = LlmResponse, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        P::Future: Send + 'static,
    {
        self.providers
            .insert(name.into(), BoxCloneSyncService::new(provider));
        self
    }

    /// Adds `deployment` to the chain of `alias`; the first added is tried first.
    pub fn alias(mut self, alias: impl Into<String>, deployment: Deployment) -> Self {
        self.aliases.push((alias.into(), deployment));
        self
    }

    /// Sets the breaker configuration of every deployment.
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// Sets the clock of the breakers and of `Retry-After` (a `ManualClock` in tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the `owned_by` of listed models.
    pub fn with_owned_by(mut self, owned_by: impl Into<String>) -> Self {
        self.owned_by = owned_by.into();
        self
    }

    /// Builds the router.
    pub fn build(self) -> Result<Router, RouterError> {
        let mut health: HashMap<(String, String), Arc<Health>> = HashMap::new();
        let mut aliases: BTreeMap<String, Vec<Route>> = BTreeMap::new();
        for (alias, deployment) in self.aliases {
            let Some(provider) = self.providers.get(&deployment.provider) else {
                return Err(RouterError::UnknownProvider {
                    alias,
                    provider: deployment.provider,
                });
            };
            let key = (deployment.provider.clone(), deployment.model.clone());
            let health = health
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Health {
                        breaker: Breaker::new(self.breaker, self.clock.clone()),
                        cool_until: Mutex::new(None),
                    })
                })
                .clone();
            aliases.entry(alias).or_default().push(Route {
                deployment,
                provider: provider.clone(),
                health,
            });
        }
        Ok(Router {
            table: Arc::new(Table {
                aliases,
                owned_by: self.owned_by,
                clock: self.clock,
            }),
        })
    }
}
