//! [`A2aFrontConfig`]: the front's settings, built once and shared (behind an `Arc`) by every
//! front and clone a layer makes.

use std::collections::HashMap;
use std::time::Duration;

use http::Uri;
use serde_json::Value;

use crate::registry::AgentRegistry;
use crate::webhook::WebhookAllowList;

/// Which protocol versions a rewritten agent card advertises.
///
/// The trade-off: [`Dual`](Self::Dual) (the default) serves one card to every client, as
/// a2a-sdk does in compatibility mode: 1.0 `supportedInterfaces` (1.0 and 0.3) beside the 0.3
/// fields (`url`, `preferredTransport`, `additionalInterfaces`, `protocolVersion`), so 0.3
/// clients (a2a-sdk in 0.3 mode, `@a2a-js/sdk`) find their endpoint. The 1.0 JSON schema
/// (`additionalProperties: false`) rejects those fields, so a strict 1.0 validator (the 1.0
/// TCK) refuses that card. [`V1Only`](Self::V1Only) serves a card that validates against the
/// 1.0 schema, advertising only the 1.0 interfaces: 0.3 clients then cannot use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CardVersions {
    /// 1.0 and 0.3 interfaces and fields, in one card (the default).
    #[default]
    Dual,
    /// Only 1.0 interfaces and fields: a card valid under the 1.0 JSON schema.
    V1Only,
}

/// The public base URL is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an absolute http or https URL")]
pub struct InvalidPublicUrl(pub String);

/// The settings of an [`A2aFront`](super::A2aFront).
///
/// ```
/// use std::time::Duration;
/// use agent_gateway_a2a::front::A2aFrontConfig;
///
/// let config = A2aFrontConfig::new("https://gw.example.com/a2a/").unwrap()
///     .with_max_body(64 * 1024)
///     .with_card_max_age(Duration::from_secs(60));
/// assert_eq!(config.public_url(), "https://gw.example.com/a2a");
/// assert_eq!(config.max_body(), 64 * 1024);
/// // Refused: a relative URL cannot be advertised in cards.
/// assert!(A2aFrontConfig::new("/a2a").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct A2aFrontConfig {
    pub(super) public_url: String,
    pub(super) max_body: usize,
    pub(super) card_max_age: Duration,
    pub(super) card_security: Option<(Value, Value)>,
    pub(crate) webhooks: WebhookAllowList,
    pub(super) card_versions: CardVersions,
    pub(super) agent_card_versions: HashMap<String, CardVersions>,
    pub(super) default_agent: Option<String>,
    pub(super) agents: Option<AgentRegistry>,
    pub(super) card_schemas: bool,
}

impl A2aFrontConfig {
    /// Settings for a front reachable by clients at `public_url` (where it is mounted; card
    /// interfaces are rewritten under it). Bodies are limited to 1 MiB, cards are served with
    /// `max-age=300`, and no push webhook is allowed until [`with_webhooks`](Self::with_webhooks).
    pub fn new(public_url: &str) -> Result<Self, InvalidPublicUrl> {
        let uri: Uri = public_url
            .parse()
            .map_err(|_| InvalidPublicUrl(public_url.into()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(InvalidPublicUrl(public_url.into()));
        }
        Ok(A2aFrontConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            max_body: 1024 * 1024,
            card_max_age: Duration::from_secs(300),
            card_security: None,
            webhooks: WebhookAllowList::new(),
            card_versions: CardVersions::Dual,
            agent_card_versions: HashMap::new(),
            default_agent: None,
            agents: None,
            card_schemas: false,
        })
    }

    /// Sets the largest request body accepted, in bytes (larger ones get 413).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets the `max-age` the card is served with.
    pub fn with_card_max_age(mut self, max_age: Duration) -> Self {
        self.card_max_age = max_age;
        self
    }

    /// Sets the security the rewritten cards advertise: the gateway's own auth, as 1.0
    /// `securitySchemes` and `securityRequirements`. Without it, the agent's own security
    /// fields are removed from the card (they describe how the gateway reaches the agent, not
    /// how clients reach the gateway).
    pub fn with_card_security(mut self, schemes: Value, requirements: Value) -> Self {
        self.card_security = Some((schemes, requirements));
        self
    }

    /// Sets the push-notification webhooks clients may register.
    pub fn with_webhooks(mut self, webhooks: WebhookAllowList) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Sets which versions every rewritten card advertises, unless set for the agent with
    /// [`with_agent_card_versions`](Self::with_agent_card_versions) (default
    /// [`CardVersions::Dual`]; see there for the trade-off).
    pub fn with_card_versions(mut self, versions: CardVersions) -> Self {
        self.card_versions = versions;
        self
    }

    /// Sets which versions `agent`'s rewritten card advertises, overriding the front's
    /// [`with_card_versions`](Self::with_card_versions).
    pub fn with_agent_card_versions(
        mut self,
        agent: impl Into<String>,
        versions: CardVersions,
    ) -> Self {
        self.agent_card_versions.insert(agent.into(), versions);
        self
    }

    /// Sets the default agent, whose card is also served at `/.well-known/agent-card.json`
    /// (and `agent.json`) where the front is mounted. A2A 0.3 clients look for the card at the
    /// host root, dropping any path: mount the front there too (or route that path to it) so
    /// that they find it. None by default (those paths are 404).
    pub fn with_default_agent(mut self, agent: impl Into<String>) -> Self {
        self.default_agent = Some(agent.into());
        self
    }

    /// Sets the registry whose cached cards the front reads before it checks a push config's
    /// webhook, so that a push-config request to an agent whose card says
    /// `pushNotifications: false` gets PushNotificationNotSupported (-32003), as from the
    /// agent itself, rather than a webhook error. Give it the router's
    /// ([`A2aRouter::agents`](crate::router::A2aRouter::agents)); the router refuses such
    /// requests too, after the front's checks.
    pub fn with_agents(mut self, agents: AgentRegistry) -> Self {
        self.agents = Some(agents);
        self
    }

    /// Reads the card of a message's agent before the policy layers run (from the registry
    /// of [`with_agents`](Self::with_agents), cached for the card's `max-age`, as for push),
    /// and when it declares the schemas of its data parts
    /// ([`DATA_SCHEMAS_EXTENSION`](crate::data::DATA_SCHEMAS_EXTENSION)) hands them to the
    /// layers as [`DeclaredDataSchemas`](agent_gateway_core::content::DeclaredDataSchemas) in
    /// the request's extensions, for a guardrail to check the data parts against. Off by
    /// default: turn it on when such a guardrail is configured. A card that cannot be had
    /// declares nothing.
    pub fn with_card_schemas(mut self, yes: bool) -> Self {
        self.card_schemas = yes;
        self
    }

    /// Which versions `agent`'s rewritten card advertises.
    pub fn card_versions(&self, agent: &str) -> CardVersions {
        self.agent_card_versions
            .get(agent)
            .copied()
            .unwrap_or(self.card_versions)
    }

    /// The default agent, whose card is served at the front's `/.well-known/agent-card.json`.
    pub fn default_agent(&self) -> Option<&str> {
        self.default_agent.as_deref()
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The largest request body accepted, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The push-notification webhooks clients may register.
    pub fn webhooks(&self) -> &WebhookAllowList {
        &self.webhooks
    }

    /// The `max-age` cards are served with.
    pub fn card_max_age(&self) -> Duration {
        self.card_max_age
    }
}
