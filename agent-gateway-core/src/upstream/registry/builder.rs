use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;

use super::{Instance, InstanceDefaults, InstanceId, Registry, Upstream, UpstreamName};
use crate::clock::SharedClock;
use crate::upstream::breaker::{Breaker, BreakerConfig};
use crate::upstream::error::BuildError;
use crate::upstream::load::{LoadConfig, LoadEstimate};

/// Builds a [`Registry`].
///
/// Instances are added one at a time; an upstream exists as soon as it has one. Every instance
/// gets its own [`Breaker`] and [`LoadEstimate`], made from the builder's [`InstanceDefaults`]
/// (set whole with [`with_defaults`], or one by one with [`with_breaker`], [`with_load`],
/// [`with_clock`] and [`with_seed`]).
///
/// [`with_defaults`]: RegistryBuilder::with_defaults
/// [`with_breaker`]: RegistryBuilder::with_breaker
/// [`with_load`]: RegistryBuilder::with_load
/// [`with_clock`]: RegistryBuilder::with_clock
/// [`with_seed`]: RegistryBuilder::with_seed
pub struct RegistryBuilder<S> {
    instances: Vec<(UpstreamName, InstanceId, S, InstanceConfig)>,
    defaults: InstanceDefaults,
}

impl<S> RegistryBuilder<S> {
    /// An empty builder: system clock, default breaker and load settings, random seed.
    pub fn new() -> Self {
        RegistryBuilder {
            instances: Vec::new(),
            defaults: InstanceDefaults::new(),
        }
    }

    /// Adds instance `id` of `upstream`, served by `service`, of weight 1 in tier 0.
    pub fn instance(self, upstream: UpstreamName, id: InstanceId, service: S) -> Self {
        self.instance_with(upstream, id, service, InstanceConfig::new())
    }

    /// Adds instance `id` of `upstream`, served by `service`, with its weight, its tier and,
    /// optionally, state it shares with instances of other upstreams.
    pub fn instance_with(
        mut self,
        upstream: UpstreamName,
        id: InstanceId,
        service: S,
        config: InstanceConfig,
    ) -> Self {
        self.instances.push((upstream, id, service, config));
        self
    }

    /// Sets what every instance starts from: breaker, latency estimate, clock and seed.
    pub fn with_defaults(mut self, defaults: InstanceDefaults) -> Self {
        self.defaults = defaults;
        self
    }

    /// The clock the breakers and the latency estimates read; see
    /// [`InstanceDefaults::with_clock`].
    pub fn with_clock(self, clock: SharedClock) -> Self {
        self.edit(|d| d.with_clock(clock))
    }

    /// The configuration of every instance's circuit breaker; see
    /// [`InstanceDefaults::with_breaker`].
    pub fn with_breaker(self, config: BreakerConfig) -> Self {
        self.edit(|d| d.with_breaker(config))
    }

    /// The configuration of every instance's latency estimate; see
    /// [`InstanceDefaults::with_load`].
    pub fn with_load(self, config: LoadConfig) -> Self {
        self.edit(|d| d.with_load(config))
    }

    /// Seeds the balancers' random source; see [`InstanceDefaults::with_seed`].
    pub fn with_seed(self, seed: u64) -> Self {
        self.edit(|d| d.with_seed(seed))
    }

    fn edit(mut self, f: impl FnOnce(InstanceDefaults) -> InstanceDefaults) -> Self {
        self.defaults = f(self.defaults);
        self
    }

    /// Builds the registry.
    ///
    /// Fails with [`BuildError::DuplicateInstance`] if an upstream has the same instance id
    /// twice.
    pub fn build(self) -> Result<Registry<S>, BuildError> {
        let defaults = self.defaults;
        let mut grouped: BTreeMap<UpstreamName, Vec<Instance<S>>> = BTreeMap::new();
        for (upstream, id, service, config) in self.instances {
            let instances = grouped.entry(upstream.clone()).or_default();
            if instances.iter().any(|i| i.id == id) {
                return Err(BuildError::DuplicateInstance {
                    upstream,
                    instance: id,
                });
            }
            let breaker = match &config.breaker {
                Some(shared) => shared.clone(),
                None => defaults.breaker(),
            };
            let load = match &config.load {
                Some(shared) => shared.clone(),
                None => defaults.load(),
            };
            instances.push(Instance::new(id, service, breaker, load, &config));
        }
        let upstreams = grouped
            .into_iter()
            .map(|(name, instances)| {
                let upstream = Upstream::new(name.clone(), instances, defaults.rng());
                (name, upstream)
            })
            .collect();
        Ok(Registry { upstreams })
    }
}

impl<S> Default for RegistryBuilder<S> {
    fn default() -> Self {
        RegistryBuilder::new()
    }
}

impl<S> fmt::Debug for RegistryBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instances: Vec<_> = self.instances.iter().map(|(u, i, _, _)| (u, i)).collect();
        f.debug_struct("RegistryBuilder")
            .field("instances", &instances)
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

/// How one instance stands among the others of its upstream (its weight and its tier), and
/// the state it shares with instances of other upstreams, if any.
///
/// By default: weight 1, tier 0, and a breaker and a load estimate of its own.
///
/// The same deployment can serve several upstreams (an LLM deployment behind two model
/// aliases): give each of its instances the same [`Breaker`] and [`LoadEstimate`] (clones
/// share their state), so that failures seen through one alias keep the others away too.
#[derive(Debug, Clone, Default)]
pub struct InstanceConfig {
    weight: Option<NonZeroU32>,
    tier: u32,
    breaker: Option<Breaker>,
    load: Option<LoadEstimate>,
}

impl InstanceConfig {
    /// Weight 1, tier 0, state of its own.
    pub fn new() -> Self {
        InstanceConfig::default()
    }

    /// Sets the weight: the instance's share of its tier's calls, relative to the others,
    /// when their loads are alike.
    pub fn with_weight(mut self, weight: NonZeroU32) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Sets the tier. Lower tiers are preferred: a call goes to the next tier only when no
    /// instance of the better ones is admissible (breaker open, or excluded by the caller).
    pub fn with_tier(mut self, tier: u32) -> Self {
        self.tier = tier;
        self
    }

    /// Shares `breaker` instead of a breaker of its own.
    pub fn with_breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Shares `load` instead of a latency estimate of its own.
    pub fn with_load(mut self, load: LoadEstimate) -> Self {
        self.load = Some(load);
        self
    }

    /// The weight.
    pub fn weight(&self) -> NonZeroU32 {
        self.weight.unwrap_or(NonZeroU32::MIN)
    }

    /// The tier.
    pub fn tier(&self) -> u32 {
        self.tier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::breaker::BreakerState;

    fn name(s: &str) -> UpstreamName {
        UpstreamName::new(s).expect("valid")
    }

    fn id(s: &str) -> InstanceId {
        InstanceId::new(s).expect("valid")
    }

    #[test]
    fn groups_instances_by_upstream() {
        let registry = Registry::builder()
            .instance(name("mcp-fs"), id("b"), 2)
            .instance(name("agent"), id("x"), 3)
            .instance(name("mcp-fs"), id("a"), 1)
            .build()
            .expect("valid");
        assert_eq!(registry.len(), 2);
        let names: Vec<&str> = registry.iter().map(|u| u.name().as_str()).collect();
        assert_eq!(names, ["agent", "mcp-fs"]);
        let fs = registry.get("mcp-fs").expect("present");
        let ids: Vec<&str> = fs.instances().iter().map(|i| i.id().as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(fs.instance("a").map(|i| *i.service()), Some(1));
        assert!(fs.instance("x").is_none());
        assert_eq!(
            registry.upstream("nope").expect_err("unknown").name(),
            "nope"
        );
        assert_eq!(fs.instances()[0].breaker().state(), BreakerState::Closed);
    }

    #[test]
    fn rejects_a_duplicate_instance() {
        let err = Registry::builder()
            .instance(name("agent"), id("x"), ())
            .instance(name("other"), id("x"), ())
            .instance(name("agent"), id("x"), ())
            .build()
            .expect_err("duplicate");
        assert_eq!(
            err,
            BuildError::DuplicateInstance {
                upstream: name("agent"),
                instance: id("x")
            }
        );
    }

    #[test]
    fn every_instance_gets_its_own_state() {
        let registry = Registry::builder()
            .instance(name("u"), id("a"), ())
            .instance(name("u"), id("b"), ())
            .with_breaker(BreakerConfig::new(
                std::num::NonZeroU32::MIN,
                std::time::Duration::from_secs(1),
            ))
            .build()
            .expect("valid");
        let u = registry.get("u").expect("present");
        u.instances()[0]
            .breaker()
            .try_acquire()
            .expect("closed")
            .failed();
        assert_eq!(u.instances()[0].breaker().state(), BreakerState::Open);
        assert_eq!(u.instances()[1].breaker().state(), BreakerState::Closed);
    }
}
