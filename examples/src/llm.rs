//! The LLM fronts from the configuration: providers, the router over model aliases, and the
//! OpenAI and Anthropic fronts behind the policy stack.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//! use agent_gateway_examples::llm::router;
//!
//! let config = Config::embedded_default().unwrap();
//! let models = router(config.llm.as_ref().unwrap()).unwrap();
//! assert_eq!(models.aliases().collect::<Vec<_>>(), ["demo"]);
//!
//! let bad = Config::from_toml_str(
//!     "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"not a url\"\n",
//! ).unwrap();
//! assert!(router(bad.llm.as_ref().unwrap()).is_err());
//! ```

use std::collections::BTreeMap;

use agent_gateway_core::Secret;
use agent_gateway_llm::Price;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::router::{CostEstimator, Deployment, LlmRouter};

use crate::config::{LlmConfig, ProviderKind};
use crate::demo::llm::DemoProvider;

/// LLM configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmSetupError {
    /// A provider's base URL is unusable.
    #[error("llm.providers `{name}`: {reason}")]
    Provider {
        /// The provider's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The router could not be built.
    #[error("llm: {0}")]
    Router(String),
}

/// The text the demo provider answers with.
pub use crate::demo::llm::DEMO_ANSWER;

/// What a model call may cost at most, from the deployments' prices in `config`: the estimate
/// the `[budget]` reserves when it admits a call (its input estimate plus `max_tokens` output,
/// at the dearest deployment of the alias), so that concurrent calls cannot overspend it.
pub fn cost_estimator(config: &LlmConfig) -> CostEstimator {
    CostEstimator::from_prices(
        config
            .deployments
            .iter()
            .map(|d| (d.alias.clone(), price(d))),
    )
    .with_default_output_tokens(config.default_output_tokens)
}

fn price(d: &crate::config::DeploymentConfig) -> Price {
    let mut price = Price::per_million(d.input_usd_per_million, d.output_usd_per_million);
    if let Some(cached) = d.cached_usd_per_million {
        price = price.with_cached_per_million(cached);
    }
    if let Some(written) = d.cache_write_usd_per_million {
        price = price.with_cache_write_per_million(written);
    }
    price
}

/// Builds the model router from `config`.
pub fn router(config: &LlmConfig) -> Result<LlmRouter, LlmSetupError> {
    let mut builder = LlmRouter::builder();
    for p in &config.providers {
        let key = match &p.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| LlmSetupError::Provider {
                name: p.name.clone(),
                reason: format!("environment variable `{var}` is not set"),
            })?),
            None => None,
        };
        let err = |e: &dyn std::fmt::Display| LlmSetupError::Provider {
            name: p.name.clone(),
            reason: e.to_string(),
        };
        let base = p.base_url.as_deref().unwrap_or("http://demo.invalid/v1");
        builder = match p.kind {
            ProviderKind::OpenAi => {
                let mut provider =
                    OpenAiProvider::http_with_connect_timeout(base, p.connect_timeout)
                        .map_err(|e| err(&e))?
                        .with_responses_api(p.responses_api);
                if let Some(key) = key {
                    provider = provider.with_api_key(Secret::new(key));
                }
                builder.provider(&p.name, provider)
            }
            ProviderKind::Anthropic => {
                let mut provider =
                    AnthropicProvider::http_with_connect_timeout(base, p.connect_timeout)
                        .map_err(|e| err(&e))?;
                if let Some(key) = key {
                    provider = provider.with_api_key(Secret::new(key));
                }
                builder.provider(&p.name, provider)
            }
            ProviderKind::Demo => {
                let provider =
                    OpenAiProvider::new(DemoProvider::new(), base).map_err(|e| err(&e))?;
                builder.provider(&p.name, provider)
            }
        };
    }
    // Each alias is a chain of tiers; the deployments of one tier are balanced together.
    let mut tiers: BTreeMap<(&str, u32), Vec<Deployment>> = BTreeMap::new();
    for d in &config.deployments {
        let deployment = Deployment::new(&d.provider, &d.model)
            .with_price(price(d))
            .with_weight(d.weight)
            .with_timeouts(d.timeouts)
            .with_features(d.features.iter().copied());
        tiers
            .entry((&d.alias, d.tier))
            .or_default()
            .push(deployment);
    }
    for ((alias, _tier), deployments) in tiers {
        builder = builder.tier(alias, deployments);
    }
    builder
        .build()
        .map_err(|e| LlmSetupError::Router(e.to_string()))
}
