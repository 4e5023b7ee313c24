//! The registry of named agents: each with one or more instances (JSON-RPC endpoints), its
//! metadata, and its cached card.
//!
//! Cards are fetched from the configured card URL only. A URL found inside a card is never
//! followed: fetching it would let whoever controls a card make the gateway call any host (SSRF).
//!
//! ```
//! use agent_gateway_a2a::registry::{Agent, AgentRegistry};
//! use agent_gateway_a2a::testkit::FakeAgent;
//! use agent_gateway_a2a::version::Version;
//!
//! let fake = FakeAgent::new("planner");
//! let registry = AgentRegistry::builder()
//!     .agent(
//!         Agent::new("planner").unwrap()
//!             .with_description("plans trips")
//!             .with_tag("travel")
//!             .with_owner("team-a")
//!             .instance("eu-1", "http://10.0.0.1:9000/", Version::V1_0, fake.connector())
//!             .unwrap(),
//!     )
//!     .build()
//!     .unwrap();
//! // Allowed: a registered agent.
//! assert_eq!(registry.agent("planner").unwrap().tags(), ["travel"]);
//! // Refused: an unknown one, and an instance URL that is not absolute.
//! assert!(registry.agent("coder").is_none());
//! assert!(Agent::new("x").unwrap().instance("a", "/relative", Version::V1_0, fake.connector()).is_err());
//! ```

mod card;
#[cfg(feature = "client")]
mod connector;
pub(crate) mod instance;
mod timeout;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
use agent_gateway_core::upstream::{Balanced, Breaker, BreakerConfig, LoadEstimate};
use agent_gateway_core::{SharedClock, SystemClock};
use http::{HeaderValue, Uri};

pub use self::card::{CachedCard, CardCache, CardError};
#[cfg(feature = "client")]
pub use self::connector::{http_connector, http_connector_with};
use self::instance::InstanceService;
pub use self::instance::{ConnectFailed, Connector, InstanceFailed, connector};
use self::timeout::Timeouts;
pub use self::timeout::{
    DEFAULT_CARD_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
    StreamIdle,
};
use crate::version::Version;
use agent_gateway_core::Secret;

/// A configuration error in the registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// An agent name or instance id is not valid.
    /// (core does not export its `InvalidName`, so the message is kept.)
    #[error("invalid name: {0}")]
    Name(String),
    /// A URL is not absolute http(s).
    #[error("`{0}` is not an absolute http or https URL")]
    Url(String),
    /// An agent has no instance.
    #[error("agent `{0}` has no instance")]
    NoInstance(String),
    /// The upstream registry refused the set.
    #[error(transparent)]
    Build(#[from] agent_gateway_core::upstream::error::BuildError),
}

/// One instance's configuration.
#[derive(Clone)]
pub(crate) struct InstanceSpec {
    service: InstanceService,
}

/// A named agent: metadata and instances. Built in Rust; a config file converts into it.
#[derive(Clone)]
pub struct Agent {
    name: UpstreamName,
    description: String,
    tags: Vec<String>,
    owner: Option<String>,
    card_url: Option<Uri>,
    instances: Vec<InstanceSpec>,
    timeouts: Timeouts,
}

fn absolute(url: &str) -> Result<Uri, RegistryError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| RegistryError::Url(url.to_owned()))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(RegistryError::Url(url.to_owned())),
    }
}

impl Agent {
    /// An agent called `name` (`[A-Za-z0-9_.-]`, at most 64 bytes), with no instance yet.
    pub fn new(name: &str) -> Result<Agent, RegistryError> {
        Ok(Agent {
            name: UpstreamName::new(name).map_err(|e| RegistryError::Name(e.to_string()))?,
            description: String::new(),
            tags: Vec::new(),
            owner: None,
            card_url: None,
            instances: Vec::new(),
            timeouts: Timeouts::default(),
        })
    }

    /// Sets the description shown in discovery.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a tag for discovery search.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the owning team or person.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Sets the URL the card is fetched from; by default the first instance's origin plus
    /// `/.well-known/agent-card.json`.
    pub fn with_card_url(mut self, url: &str) -> Result<Self, RegistryError> {
        self.card_url = Some(absolute(url)?);
        Ok(self)
    }

    /// Sets how long each of its instances may take to send response headers (default
    /// [`DEFAULT_TIMEOUT`]); a silent instance is answered with a timeout error (HTTP 504,
    /// JSON-RPC -32603).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.response = timeout;
        self
    }

    /// Sets the longest silence between two chunks of an instance's body, a stream above all
    /// (default [`DEFAULT_STREAM_IDLE_TIMEOUT`]); a silent stream ends with a timeout error.
    pub fn with_stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stream_idle = timeout;
        self
    }

    /// Adds an instance: its id, its JSON-RPC endpoint URL, the A2A version it speaks and the
    /// transport to reach it.
    pub fn instance(
        self,
        id: &str,
        endpoint: &str,
        version: Version,
        connector: Connector,
    ) -> Result<Self, RegistryError> {
        self.instance_with_auth(id, endpoint, version, connector, None)
    }

    /// Adds an instance that the gateway calls with its own `Authorization` header value (the
    /// caller's credential is never forwarded).
    pub fn instance_with_auth(
        mut self,
        id: &str,
        endpoint: &str,
        version: Version,
        connector: Connector,
        authorization: Option<Secret<HeaderValue>>,
    ) -> Result<Self, RegistryError> {
        let id = InstanceId::new(id).map_err(|e| RegistryError::Name(e.to_string()))?;
        let endpoint = absolute(endpoint)?;
        self.instances.push(InstanceSpec {
            service: InstanceService {
                id,
                endpoint,
                version,
                authorization,
                connector,
                // Set from the agent's when the registry is built.
                timeouts: Timeouts::default(),
            },
        });
        Ok(self)
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The tags.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The owner.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    fn card_url(&self) -> Option<Uri> {
        if let Some(u) = &self.card_url {
            return Some(u.clone());
        }
        let first = &self.instances.first()?.service.endpoint;
        Uri::builder()
            .scheme(first.scheme_str()?)
            .authority(first.authority()?.as_str())
            .path_and_query("/.well-known/agent-card.json")
            .build()
            .ok()
    }
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("tags", &self.tags)
            .field("owner", &self.owner)
            .field(
                "instances",
                &self
                    .instances
                    .iter()
                    .map(|i| &i.service)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`AgentRegistry`].
#[derive(Debug)]
pub struct AgentRegistryBuilder {
    agents: Vec<Agent>,
    clock: SharedClock,
    breaker: Option<BreakerConfig>,
    default_card_ttl: Duration,
    card_timeout: Duration,
}

impl AgentRegistryBuilder {
    /// Adds an agent.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agents.push(agent);
        self
    }

    /// The clock for card expiry, breakers and latency estimates.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The circuit-breaker settings for every instance.
    pub fn with_breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// How long a card fetch may take (default [`DEFAULT_CARD_TIMEOUT`]); past it a stale
    /// card is served, or the card is unavailable (503).
    pub fn with_card_timeout(mut self, timeout: Duration) -> Self {
        self.card_timeout = timeout;
        self
    }

    /// How long a card without `max-age` stays fresh (default five minutes).
    pub fn with_default_card_ttl(mut self, ttl: Duration) -> Self {
        self.default_card_ttl = ttl;
        self
    }

    /// Builds the registry.
    pub fn build(self) -> Result<AgentRegistry, RegistryError> {
        let mut upstreams = Registry::builder().with_clock(self.clock.clone());
        if let Some(b) = self.breaker {
            upstreams = upstreams.with_breaker(b);
        }
        let mut agents = BTreeMap::new();
        for agent in self.agents {
            if agent.instances.is_empty() {
                return Err(RegistryError::NoInstance(agent.name.as_str().to_owned()));
            }
            for i in &agent.instances {
                let mut service = i.service.clone();
                service.timeouts = agent.timeouts;
                upstreams = upstreams.instance(agent.name.clone(), service.id.clone(), service);
            }
            agents.insert(agent.name.as_str().to_owned(), Arc::new(agent));
        }
        Ok(AgentRegistry {
            inner: Arc::new(Inner {
                upstreams: upstreams.build()?,
                agents,
                cards: CardCache::new(self.clock, self.default_card_ttl)
                    .with_timeout(self.card_timeout),
            }),
        })
    }
}

/// The registered agents. Cheap to clone; replace the whole registry to reconfigure.
#[derive(Clone, Debug)]
pub struct AgentRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstreams: Registry<InstanceService>,
    agents: BTreeMap<String, Arc<Agent>>,
    cards: CardCache,
}

impl AgentRegistry {
    /// Starts building a registry, on the system clock.
    pub fn builder() -> AgentRegistryBuilder {
        AgentRegistryBuilder {
            agents: Vec::new(),
            clock: SystemClock::shared(),
            breaker: None,
            default_card_ttl: Duration::from_secs(300),
            card_timeout: DEFAULT_CARD_TIMEOUT,
        }
    }

    /// The agent called `name`.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.inner.agents.get(name).map(|a| a.as_ref())
    }

    /// The agents, in name order.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.inner.agents.values().map(|a| a.as_ref())
    }

    /// Every agent instance with its circuit breaker and load estimate, for health metrics:
    /// `(agent, instance id, breaker, load)`, agents in name order.
    pub fn instances(&self) -> impl Iterator<Item = (&str, &str, &Breaker, &LoadEstimate)> + '_ {
        self.inner.upstreams.iter().flat_map(|upstream| {
            upstream.instances().iter().map(move |i| {
                let name = upstream.name().as_str();
                (name, i.id().as_str(), i.breaker(), i.load())
            })
        })
    }

    /// A live reading of how many agent cards the cache holds (at most one per agent), for
    /// metrics. It holds the registry weakly: once the registry is gone it reads 0.
    pub fn cached_cards(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let inner = Arc::downgrade(&self.inner);
        move || inner.upgrade().map_or(0, |inner| inner.cards.len())
    }

    pub(crate) fn balanced(&self, name: &str) -> Option<Balanced<InstanceService>> {
        self.inner.upstreams.balanced(name).ok()
    }

    /// The card of `name`, from the cache or fetched from its card URL.
    pub async fn card(&self, name: &str) -> Result<CachedCard, CardError> {
        let agent = self.inner.agents.get(name).ok_or(CardError::UnknownAgent)?;
        let url = agent.card_url().ok_or(CardError::UnknownAgent)?;
        let connector = agent
            .instances
            .first()
            .map(|i| i.service.connector.clone())
            .ok_or(CardError::UnknownAgent)?;
        self.inner.cards.get(name, url, connector).await
    }
}
