//! The named upstreams a gateway calls, each with its instances and their health.
//!
//! An upstream is an MCP server, an A2A agent or an LLM model alias; an instance is one replica,
//! agent instance or deployment of it. Each instance carries its service, its circuit
//! [`Breaker`] and its [`LoadEstimate`], which the `balance` services read and
//! update on every call.
//!
//! ```
//! use agent_gateway_core::upstream::balance::Failover;
//! use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
//! use tower::{ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agent_gateway_core::BoxError> {
//! let model = |deployment: &'static str| {
//!     service_fn(move |prompt: String| async move {
//!         Ok::<_, std::convert::Infallible>(format!("{deployment}: {prompt}"))
//!     })
//! };
//! let gpt = UpstreamName::new("gpt-4.1")?;
//! let registry = Registry::builder()
//!     .instance(gpt.clone(), InstanceId::new("eu")?, model("eu"))
//!     .instance(gpt.clone(), InstanceId::new("us")?, model("us"))
//!     .build()?;
//! let upstream = registry.get("gpt-4.1").unwrap();
//! assert_eq!(upstream.instances().len(), 2);
//!
//! // Allowed: a call balanced over the deployments reaches one of them.
//! let answer = registry.balanced("gpt-4.1")?.oneshot("hi".to_owned()).await?;
//! assert!(answer == "eu: hi" || answer == "us: hi");
//! // A call pinned to one instance reaches exactly that one.
//! let pinned = registry.balanced("gpt-4.1")?.pin("us", Failover::Never)?;
//! assert_eq!(pinned.oneshot("hi".to_owned()).await?, "us: hi");
//! // Denied: unknown upstream, unknown instance.
//! assert!(registry.balanced("claude").is_err());
//! assert!(registry.balanced("gpt-4.1")?.pin("asia", Failover::Never).is_err());
//! # Ok(())
//! # }
//! ```

mod builder;
mod defaults;

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use rand::rngs::SmallRng;

pub use self::builder::{InstanceConfig, RegistryBuilder};
pub use self::defaults::InstanceDefaults;
use super::breaker::Breaker;
use super::error::UnknownUpstream;
use super::load::LoadEstimate;
pub use super::name::{InstanceId, MAX_INSTANCE_ID_LEN, MAX_UPSTREAM_NAME_LEN, UpstreamName};

/// The upstreams, by name.
///
/// Cheap to clone: the upstreams and their state are shared. Build it with
/// [`Registry::builder`]; to change the set of upstreams, build a new registry and swap it in
/// atomically. An upstream that keeps its name across the swap starts with fresh breakers and
/// estimates.
pub struct Registry<S> {
    upstreams: BTreeMap<UpstreamName, Upstream<S>>,
}

/// One named upstream and its instances (at least one).
///
/// Cheap to clone: clones share the instances, their state and the balancer's random source.
pub struct Upstream<S> {
    inner: Arc<UpstreamInner<S>>,
}

struct UpstreamInner<S> {
    name: UpstreamName,
    instances: Vec<Instance<S>>,
    /// Instance indexes by tier, best tier first.
    tiers: Vec<Vec<usize>>,
    rng: Mutex<SmallRng>,
}

/// One instance of an upstream: its service, its circuit breaker and its load, and its
/// weight and tier among the others.
pub struct Instance<S> {
    id: InstanceId,
    service: S,
    /// Clones of `service` that served a call and wait for the next: a call takes one rather
    /// than cloning the service (for a boxed service, an allocation and a copy per call).
    spares: Mutex<Vec<S>>,
    breaker: Breaker,
    load: LoadEstimate,
    weight: NonZeroU32,
    tier: u32,
}

/// The most spare clones of its service an instance keeps: as many as calls that were made
/// to it at once, up to this many; past it a clone is dropped after its call, as if there were
/// no spares. Enough for the calls one process has in flight to an instance in practice, and
/// small next to the connections that many calls hold.
pub const MAX_SPARE_SERVICES: usize = 64;

impl<S> Registry<S> {
    /// Starts building a registry.
    pub fn builder() -> RegistryBuilder<S> {
        RegistryBuilder::new()
    }

    /// The upstream called `name`.
    pub fn get(&self, name: &str) -> Option<&Upstream<S>> {
        self.upstreams.get(name)
    }

    /// The upstream called `name`, or [`UnknownUpstream`].
    pub fn upstream(&self, name: &str) -> Result<&Upstream<S>, UnknownUpstream> {
        self.get(name).ok_or_else(|| UnknownUpstream::new(name))
    }

    /// The upstreams, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Upstream<S>> {
        self.upstreams.values()
    }

    /// How many upstreams there are.
    pub fn len(&self) -> usize {
        self.upstreams.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.upstreams.is_empty()
    }
}

impl<S> Upstream<S> {
    pub(crate) fn new(name: UpstreamName, instances: Vec<Instance<S>>, rng: SmallRng) -> Self {
        let mut tiers: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (index, instance) in instances.iter().enumerate() {
            tiers.entry(instance.tier).or_default().push(index);
        }
        Upstream {
            inner: Arc::new(UpstreamInner {
                name,
                instances,
                tiers: tiers.into_values().collect(),
                rng: Mutex::new(rng),
            }),
        }
    }

    /// Its name.
    pub fn name(&self) -> &UpstreamName {
        &self.inner.name
    }

    /// Its instances, in the order they were added.
    pub fn instances(&self) -> &[Instance<S>] {
        &self.inner.instances
    }

    /// The instance with id `id`.
    pub fn instance(&self, id: &str) -> Option<&Instance<S>> {
        self.instances().iter().find(|i| i.id.as_str() == id)
    }

    /// Instance indexes (positions in [`instances`](Upstream::instances)) grouped by tier,
    /// best tier first; each group in the order the instances were added.
    pub fn tiers(&self) -> impl Iterator<Item = &[usize]> {
        self.inner.tiers.iter().map(Vec::as_slice)
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.instances().iter().position(|i| i.id.as_str() == id)
    }

    pub(crate) fn rng(&self) -> std::sync::MutexGuard<'_, SmallRng> {
        // A random source has no invariant a panic could break.
        self.inner.rng.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S> Instance<S> {
    pub(crate) fn new(
        id: InstanceId,
        service: S,
        breaker: Breaker,
        load: LoadEstimate,
        config: &InstanceConfig,
    ) -> Self {
        Instance {
            id,
            service,
            spares: Mutex::new(Vec::new()),
            breaker,
            load,
            weight: config.weight(),
            tier: config.tier(),
        }
    }

    /// Its id.
    pub fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Its service. The balancer calls a clone of it.
    pub fn service(&self) -> &S {
        &self.service
    }

    /// A clone of its service to call: a spare one handed back by an earlier call, else a new
    /// clone.
    pub(crate) fn take_service(&self) -> S
    where
        S: Clone,
    {
        // A list of interchangeable clones has no invariant a panic could break.
        let spare = self.spares.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| self.service.clone())
    }

    /// Keeps `service`, a clone that has just been called, for the next call (up to
    /// [`MAX_SPARE_SERVICES`]).
    pub(crate) fn give_back(&self, service: S) {
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < MAX_SPARE_SERVICES {
            spares.push(service);
        }
    }

    /// Its circuit breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Its latency estimate and calls in flight.
    pub fn load(&self) -> &LoadEstimate {
        &self.load
    }

    /// Its weight: its share of its tier's calls, relative to the others, when their loads
    /// are alike.
    pub fn weight(&self) -> NonZeroU32 {
        self.weight
    }

    /// Its tier: lower tiers are preferred, and a tier serves only when no instance of a
    /// better one is admissible.
    pub fn tier(&self) -> u32 {
        self.tier
    }
}

impl<S> Clone for Registry<S> {
    fn clone(&self) -> Self {
        Registry {
            upstreams: self.upstreams.clone(),
        }
    }
}

impl<S> Clone for Upstream<S> {
    fn clone(&self) -> Self {
        Upstream {
            inner: self.inner.clone(),
        }
    }
}

impl<S> fmt::Debug for Registry<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.upstreams.values()).finish()
    }
}

impl<S> fmt::Debug for Upstream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("name", self.name())
            .field("instances", &self.instances())
            .finish()
    }
}

impl<S> fmt::Debug for Instance<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("id", &self.id)
            .field("breaker", &self.breaker.state())
            .field("load", &self.load)
            .field("weight", &self.weight)
            .field("tier", &self.tier)
            .finish_non_exhaustive()
    }
}
