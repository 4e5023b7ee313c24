//! The A2A front from the configuration: named agents and their instances, the router with
//! task affinity, and the front behind the policy stack.
//!
//! ```
//! use agent_gateway_examples::a2a::router;
//! use agent_gateway_examples::config::Config;
//!
//! let config = Config::embedded_default().unwrap();
//! assert!(router(config.a2a.as_ref().unwrap()).is_ok());
//!
//! let bad = Config::from_toml_str(
//!     "[a2a]\n[[a2a.agents]]\nname = \"x\"\n[[a2a.agents.instances]]\nid = \"i1\"\nurl = \"not a url\"\n",
//! ).unwrap();
//! assert!(router(bad.a2a.as_ref().unwrap()).is_err());
//!
//! // Timeouts per agent, in milliseconds; zero is refused.
//! let timed = Config::from_toml_str(
//!     "[a2a]\ncard_timeout_ms = 2000\n[[a2a.agents]]\nname = \"x\"\ntimeout_ms = 1500\nconnect_timeout_ms = 300\nstream_idle_timeout_ms = 60000\n[[a2a.agents.instances]]\nid = \"i1\"\nurl = \"http://10.0.0.1/\"\n",
//! ).unwrap();
//! let a2a = timed.a2a.as_ref().unwrap();
//! assert_eq!(a2a.agents[0].timeout, Some(std::time::Duration::from_millis(1500)));
//! assert_eq!(a2a.card_timeout, Some(std::time::Duration::from_secs(2)));
//! assert!(router(a2a).is_ok());
//! assert!(Config::from_toml_str(
//!     "[a2a]\n[[a2a.agents]]\nname = \"x\"\ntimeout_ms = 0\n[[a2a.agents.instances]]\nid = \"i1\"\nurl = \"http://10.0.0.1/\"\n",
//! ).is_err());
//!
//! // Cards: 1.0 only for the front, dual for one agent, and a default agent at the root.
//! use agent_gateway_a2a::front::{A2aFrontConfig, CardVersions};
//! use agent_gateway_examples::a2a::card_options;
//! let cards = Config::from_toml_str(
//!     "[a2a]\ncard_versions = \"1.0\"\ndefault_agent = \"x\"\n[[a2a.agents]]\nname = \"x\"\ncard_versions = \"dual\"\n[[a2a.agents.instances]]\nid = \"i1\"\nurl = \"http://10.0.0.1/\"\n[[a2a.agents]]\nname = \"y\"\n[[a2a.agents.instances]]\nid = \"i1\"\nurl = \"http://10.0.0.2/\"\n",
//! ).unwrap();
//! let a2a = cards.a2a.as_ref().unwrap();
//! let front = card_options(a2a, A2aFrontConfig::new("http://gw/a2a").unwrap(), &router(a2a).unwrap());
//! assert_eq!(front.card_versions("x"), CardVersions::Dual);
//! assert_eq!(front.card_versions("y"), CardVersions::V1Only);
//! assert_eq!(front.default_agent(), Some("x"));
//! // Refused: an unknown version, a default agent that is not configured.
//! assert!(Config::from_toml_str("[a2a]\ncard_versions = \"0.3\"\n").is_err());
//! assert!(Config::from_toml_str("[a2a]\ndefault_agent = \"nobody\"\n").is_err());
//! ```

use agent_gateway_a2a::front::A2aFrontConfig;
use agent_gateway_a2a::registry::{Agent, AgentRegistry, http_connector, http_connector_with};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_core::Secret;
use http::HeaderValue;

use crate::config::A2aConfig;
use crate::demo::a2a::DemoAgent;

/// A2A configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum A2aSetupError {
    /// An agent is misconfigured.
    #[error("a2a.agents `{name}`: {reason}")]
    Agent {
        /// The agent's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The front is misconfigured.
    #[error("a2a: {0}")]
    Front(String),
}

/// The endpoint of the in-process demo agent (never dialled: its connector is in-process).
const DEMO_ENDPOINT: &str = "http://demo.invalid/";

/// Builds the router over the configured agents.
pub fn router(config: &A2aConfig) -> Result<A2aRouter, A2aSetupError> {
    let mut registry = AgentRegistry::builder();
    for a in &config.agents {
        let err = |reason: String| A2aSetupError::Agent {
            name: a.name.clone(),
            reason,
        };
        let mut agent = Agent::new(&a.name).map_err(|e| err(e.to_string()))?;
        if let Some(d) = &a.description {
            agent = agent.with_description(d);
        }
        for t in &a.tags {
            agent = agent.with_tag(t);
        }
        if let Some(o) = &a.owner {
            agent = agent.with_owner(o);
        }
        if let Some(url) = &a.card_url {
            agent = agent.with_card_url(url).map_err(|e| err(e.to_string()))?;
        }
        if let Some(t) = a.timeout {
            agent = agent.with_timeout(t);
        }
        if let Some(t) = a.stream_idle_timeout {
            agent = agent.with_stream_idle_timeout(t);
        }
        let connector = || match a.connect_timeout {
            Some(t) => http_connector_with(t),
            None => http_connector(),
        };
        if a.demo {
            tracing::warn!(
                agent = %a.name,
                "a2a agent is the in-process demo agent (bounded, echoes what it is sent): not for production"
            );
            let demo = DemoAgent::new(&a.name);
            agent = agent
                .instance("demo", DEMO_ENDPOINT, Version::V1_0, demo.connector())
                .map_err(|e| err(e.to_string()))?;
        }
        for i in &a.instances {
            let version = if i.version == "0.3" {
                Version::V0_3
            } else {
                Version::V1_0
            };
            let auth = match &i.token_env {
                None => None,
                Some(var) => {
                    let token = std::env::var(var)
                        .map_err(|_| err(format!("environment variable `{var}` is not set")))?;
                    let value = HeaderValue::try_from(format!("Bearer {token}"))
                        .map_err(|_| err(format!("`{var}` is not a valid token")))?;
                    Some(Secret::new(value))
                }
            };
            agent = agent
                .instance_with_auth(&i.id, &i.url, version, connector(), auth)
                .map_err(|e| err(e.to_string()))?;
        }
        registry = registry.agent(agent);
    }
    if let Some(t) = config.card_timeout {
        registry = registry.with_card_timeout(t);
    }
    let registry = registry
        .build()
        .map_err(|e| A2aSetupError::Front(e.to_string()))?;
    // The router checks webhooks again after translation: the same list as the front's.
    Ok(A2aRouter::new(registry, sealer(config)?).with_webhooks(webhooks(config)?))
}

fn sealer(config: &A2aConfig) -> Result<Sealer, A2aSetupError> {
    let key = match &config.seal_key_env {
        Some(var) => {
            let hex = std::env::var(var).map_err(|_| {
                A2aSetupError::Front(format!("environment variable `{var}` is not set"))
            })?;
            crate::mcp::parse_hex_key(&hex).ok_or_else(|| {
                A2aSetupError::Front(format!("`{var}` must hold 64 hex digits (32 bytes)"))
            })?
        }
        None => random_key()?,
    };
    Sealer::new(Secret::new(key.to_vec())).map_err(|e| A2aSetupError::Front(e.to_string()))
}

fn random_key() -> Result<[u8; 32], A2aSetupError> {
    use rand::{RngCore, SeedableRng};
    let mut key = [0u8; 32];
    rand::rngs::StdRng::try_from_os_rng()
        .map_err(|e| A2aSetupError::Front(format!("no system randomness: {e}")))?
        .fill_bytes(&mut key);
    Ok(key)
}

/// The front's card and push options from the configuration: the cards' versions (front-wide
/// and per agent), the default agent whose card is served at the root, and the router's
/// registry, whose cards say which agents support push notifications.
pub fn card_options(
    config: &A2aConfig,
    front: A2aFrontConfig,
    router: &A2aRouter,
) -> A2aFrontConfig {
    let mut front = front
        .with_card_versions(config.card_versions)
        .with_agents(router.agents().clone());
    for agent in &config.agents {
        if let Some(versions) = agent.card_versions {
            front = front.with_agent_card_versions(&agent.name, versions);
        }
    }
    match &config.default_agent {
        Some(name) => front.with_default_agent(name),
        None => front,
    }
}

/// The push-notification webhooks the configuration allows.
pub fn webhooks(config: &A2aConfig) -> Result<WebhookAllowList, A2aSetupError> {
    config
        .webhook_prefixes
        .iter()
        .try_fold(WebhookAllowList::new(), |list, prefix| {
            list.allow(prefix)
                .map_err(|e| A2aSetupError::Front(format!("webhook prefix `{prefix}`: {e}")))
        })
}
