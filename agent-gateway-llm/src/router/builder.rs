use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tower::Service;
use tower::retry::budget::TpsBudget;
use tower::util::BoxCloneSyncService;

use agent_gateway_core::upstream::breaker::{Breaker, BreakerConfig};
use agent_gateway_core::upstream::registry::{
    InstanceConfig, InstanceDefaults, InstanceId, Registry, UpstreamName,
};
use agent_gateway_core::upstream::{Balanced, LoadConfig, LoadEstimate};
use agent_gateway_core::{BoxError, SharedClock};

use super::route::is_failure;
use super::{Alias, Classifier, Deployment, DeploymentHealth, LlmRouter, Rest, Route, Table};
use crate::LlmResponse;
use crate::provider::{BoxProvider, ProviderRequest};

/// Builds a [`LlmRouter`]: providers by name, then aliases naming them.
#[derive(Debug)]
#[must_use]
pub struct LlmRouterBuilder {
    providers: HashMap<String, BoxProvider>,
    aliases: Vec<(String, Vec<Deployment>)>,
    defaults: InstanceDefaults,
    owned_by: String,
    budget: Option<Arc<TpsBudget>>,
}

/// Why a router could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// A tier with no deployment.
    #[error("alias `{0}` has an empty tier")]
    EmptyTier(String),
    /// Core's registry refused the deployments of an alias (it should not: the router
    /// names them itself).
    #[error("the deployments of alias `{0}` could not be registered")]
    Registry(String),
    /// A deployment names a provider that was not registered.
    #[error("alias `{alias}` names the unknown provider `{provider}`")]
    UnknownProvider {
        /// The alias.
        alias: String,
        /// The provider it names.
        provider: String,
    },
}

impl LlmRouterBuilder {
    pub(super) fn new() -> Self {
        LlmRouterBuilder {
            providers: HashMap::new(),
            aliases: Vec::new(),
            defaults: InstanceDefaults::new(),
            owned_by: "agent-gateway".to_owned(),
            budget: None,
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

    /// Adds a tier of one deployment to the chain of `alias`; the first tier added is tried
    /// first.
    pub fn alias(self, alias: impl Into<String>, deployment: Deployment) -> Self {
        self.tier(alias, [deployment])
    }

    /// Adds a tier of deployments to the chain of `alias`, balanced among themselves by
    /// weight and latency; the next tier serves only when every deployment of this one
    /// failed, rests or has its breaker open.
    pub fn tier(
        mut self,
        alias: impl Into<String>,
        deployments: impl IntoIterator<Item = Deployment>,
    ) -> Self {
        self.aliases
            .push((alias.into(), deployments.into_iter().collect()));
        self
    }

    /// Sets the retry budget that bounds fallbacks, shared by every alias: each call deposits,
    /// each fallback withdraws, and a call whose fallback the budget refuses fails with its
    /// last error. The default is tower's: 10 retries a second in reserve, plus 20% of the
    /// calls of the last 10 seconds.
    pub fn with_retry_budget(mut self, budget: impl Into<Arc<TpsBudget>>) -> Self {
        self.budget = Some(budget.into());
        self
    }

    /// Sets what each deployment's breaker and latency estimate start from, the clock they
    /// and `Retry-After` read (a `ManualClock` in tests), and the balancer's seed; the four
    /// setters below set one of them each.
    pub fn with_defaults(mut self, defaults: InstanceDefaults) -> Self {
        self.defaults = defaults;
        self
    }

    /// Sets how the latency estimate of each deployment starts and decays.
    pub fn with_load(self, config: LoadConfig) -> Self {
        self.edit(|d| d.with_load(config))
    }

    /// Seeds the random draws of the balancer, for repeatable tests.
    pub fn with_seed(self, seed: u64) -> Self {
        self.edit(|d| d.with_seed(seed))
    }

    /// Sets the breaker configuration of every deployment.
    pub fn with_breaker(self, config: BreakerConfig) -> Self {
        self.edit(|d| d.with_breaker(config))
    }

    /// Sets the clock of the breakers and of `Retry-After` (a `ManualClock` in tests).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        self.edit(|d| d.with_clock(clock))
    }

    fn edit(mut self, f: impl FnOnce(InstanceDefaults) -> InstanceDefaults) -> Self {
        self.defaults = f(self.defaults);
        self
    }

    /// Sets the `owned_by` of listed models.
    pub fn with_owned_by(mut self, owned_by: impl Into<String>) -> Self {
        self.owned_by = owned_by.into();
        self
    }

    /// Builds the router.
    pub fn build(self) -> Result<LlmRouter, RouterError> {
        let mut tiers: BTreeMap<String, Vec<Vec<Deployment>>> = BTreeMap::new();
        for (alias, deployments) in self.aliases {
            if deployments.is_empty() {
                return Err(RouterError::EmptyTier(alias));
            }
            tiers.entry(alias).or_default().push(deployments);
        }
        // One breaker, estimate and rest per deployment, shared by the aliases naming it.
        let mut shared: HashMap<(String, String), (Breaker, LoadEstimate, Arc<Rest>)> =
            HashMap::new();
        let mut aliases = BTreeMap::new();
        for (n, (alias, chain)) in tiers.into_iter().enumerate() {
            // Aliases may hold `/` or `:`, which upstream names may not: the registry knows
            // each alias by its position.
            let invalid = |_| RouterError::Registry(alias.clone());
            let name = UpstreamName::new(format!("alias-{n}")).map_err(invalid)?;
            let mut registry = Registry::builder().with_defaults(self.defaults.clone());
            let mut routes = Vec::new();
            for (tier, deployment) in chain
                .into_iter()
                .enumerate()
                .flat_map(|(t, tier)| tier.into_iter().map(move |d| (t, d)))
            {
                let Some(provider) = self.providers.get(&deployment.provider) else {
                    return Err(RouterError::UnknownProvider {
                        alias: alias.clone(),
                        provider: deployment.provider,
                    });
                };
                let key = (deployment.provider.clone(), deployment.model.clone());
                let (breaker, load, rest) = shared
                    .entry(key)
                    .or_insert_with(|| {
                        (
                            self.defaults.breaker(),
                            self.defaults.load(),
                            Arc::default(),
                        )
                    })
                    .clone();
                let config = InstanceConfig::new()
                    .with_weight(deployment.weight)
                    .with_tier(u32::try_from(tier).unwrap_or(u32::MAX))
                    .with_breaker(breaker)
                    .with_load(load);
                let id = InstanceId::new(routes.len().to_string()).map_err(invalid)?;
                registry = registry.instance_with(name.clone(), id, provider.clone(), config);
                let model = Arc::from(deployment.model.as_str());
                routes.push(Route {
                    deployment,
                    model,
                    rest,
                });
            }
            let registry = registry
                .build()
                .map_err(|_| RouterError::Registry(alias.clone()))?;
            let Some(upstream) = registry.iter().next() else {
                return Err(RouterError::EmptyTier(alias));
            };
            let balanced =
                Balanced::new(upstream.clone()).with_classifier(is_failure as Classifier);
            aliases.insert(alias, Alias { balanced, routes });
        }
        let mut deployments: Vec<DeploymentHealth> = shared
            .into_iter()
            .map(|((provider, model), (breaker, load, _))| DeploymentHealth {
                provider,
                model,
                breaker,
                load,
            })
            .collect();
        deployments.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
        Ok(LlmRouter {
            table: Arc::new(Table {
                aliases,
                deployments,
                owned_by: self.owned_by,
                clock: self.defaults.clock().clone(),
                budget: self.budget.unwrap_or_default(),
            }),
        })
    }
}
