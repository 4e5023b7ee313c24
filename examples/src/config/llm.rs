//! The `[llm]` section: providers, and deployments that map model aliases to them.

use std::time::Duration;

use agent_gateway_llm::provider::{DEFAULT_CONNECT_TIMEOUT, Timeouts};
use agent_gateway_llm::request::Feature;
use serde::Deserialize;

use super::ConfigError;

/// The LLM fronts' configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LlmConfig {
    /// The providers, by name.
    pub providers: Vec<ProviderConfig>,
    /// The deployments; those sharing an alias form its fallback chain, in file order.
    pub deployments: Vec<DeploymentConfig>,
    /// The output a budget reserves for a model call that sets no `max_tokens`
    /// (`default_output_tokens`, default
    /// [`DEFAULT_OUTPUT_TOKENS`](agent_gateway_llm::router::DEFAULT_OUTPUT_TOKENS)).
    pub default_output_tokens: u64,
}

/// What speaks at the other end of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenAI-compatible API (OpenAI, vLLM, Ollama, Groq, …).
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// An in-process demo model that answers every request with a fixed text.
    Demo,
}

/// One provider.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// Its name, used by deployments.
    pub name: String,
    /// What it speaks.
    pub kind: ProviderKind,
    /// Its base URL (with `/v1` for OpenAI-compatible APIs, without for Anthropic).
    pub base_url: Option<String>,
    /// The environment variable holding its API key. Keys never live in the file.
    pub api_key_env: Option<String>,
    /// How long a TCP connection to it may take (`connect_timeout_ms`, default 10 s).
    pub connect_timeout: Duration,
    /// Whether an OpenAI-compatible provider serves `/responses` itself; when not, Responses
    /// requests are translated to Chat Completions.
    pub responses_api: bool,
}

/// One deployment: a model alias served by a provider's model, at a price.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeploymentConfig {
    /// The alias clients ask for.
    pub alias: String,
    /// The provider's name.
    pub provider: String,
    /// The provider's model name.
    pub model: String,
    /// Dollars per million input tokens.
    pub input_usd_per_million: f64,
    /// Dollars per million output tokens.
    pub output_usd_per_million: f64,
    /// Dollars per million cached input tokens, if they are priced differently.
    pub cached_usd_per_million: Option<f64>,
    /// Dollars per million input tokens written to the prompt cache (Anthropic bills them
    /// above plain input), if they are priced differently.
    pub cache_write_usd_per_million: Option<f64>,
    /// The fallback tier: lower tiers serve first, the next only when all of one failed.
    pub tier: u32,
    /// The share of its tier's traffic, balanced with latency by power of two choices.
    pub weight: std::num::NonZeroU32,
    /// How long it may take to send its response headers (`timeout_ms`, default 10 min) and
    /// stay silent inside a stream (`stream_idle_timeout_ms`, default 5 min).
    pub timeouts: Timeouts,
    /// The price- or tool-changing request features it serves (`features`: `anthropic_beta`,
    /// `service_tier`, `background`, `server_tools`); none unless listed.
    pub features: Vec<Feature>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLlm {
    #[serde(default)]
    providers: Vec<FileProvider>,
    #[serde(default)]
    deployments: Vec<FileDeployment>,
    default_output_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProvider {
    name: String,
    kind: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    /// Removed; kept only to refuse it with an explanation.
    #[serde(default)]
    forward_client_credential: bool,
    connect_timeout_ms: Option<u64>,
    #[serde(default = "yes")]
    responses_api: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDeployment {
    alias: String,
    provider: String,
    model: String,
    #[serde(default)]
    input_usd_per_million: f64,
    #[serde(default)]
    output_usd_per_million: f64,
    cached_usd_per_million: Option<f64>,
    cache_write_usd_per_million: Option<f64>,
    #[serde(default)]
    tier: u32,
    #[serde(default = "one")]
    weight: u32,
    timeout_ms: Option<u64>,
    stream_idle_timeout_ms: Option<u64>,
    #[serde(default)]
    features: Vec<String>,
}

/// A positive number of milliseconds, or `default` when absent.
fn millis(key: &'static str, ms: Option<u64>, default: Duration) -> Result<Duration, ConfigError> {
    match ms {
        None => Ok(default),
        Some(0) => Err(bad(key, "must be at least 1 millisecond")),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

fn one() -> u32 {
    1
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileLlm> for LlmConfig {
    type Error = ConfigError;

    fn try_from(file: FileLlm) -> Result<Self, ConfigError> {
        let mut providers: Vec<ProviderConfig> = Vec::new();
        for p in file.providers {
            let kind = match p.kind.as_str() {
                "openai" => ProviderKind::OpenAi,
                "anthropic" => ProviderKind::Anthropic,
                "demo" => ProviderKind::Demo,
                other => {
                    return Err(bad(
                        "llm.providers.kind",
                        format!("`{other}` is not openai, anthropic or demo"),
                    ));
                }
            };
            if kind != ProviderKind::Demo && p.base_url.is_none() {
                return Err(bad(
                    "llm.providers.base_url",
                    format!("provider `{}` needs one", p.name),
                ));
            }
            if p.forward_client_credential {
                return Err(bad(
                    "llm.providers.forward_client_credential",
                    format!(
                        "provider `{}`: this option was removed. The auth layer consumes the \
                         client's credential and never hands it on; give the provider its own \
                         key with `api_key_env`",
                        p.name
                    ),
                ));
            }
            let connect_timeout = millis(
                "llm.providers.connect_timeout_ms",
                p.connect_timeout_ms,
                DEFAULT_CONNECT_TIMEOUT,
            )?;
            if providers.iter().any(|q| q.name == p.name) {
                return Err(bad(
                    "llm.providers.name",
                    format!("`{}` is declared twice", p.name),
                ));
            }
            providers.push(ProviderConfig {
                name: p.name,
                kind,
                base_url: p.base_url,
                api_key_env: p.api_key_env,
                connect_timeout,
                responses_api: p.responses_api,
            });
        }
        let deployments = file
            .deployments
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                if !providers.iter().any(|p| p.name == d.provider) {
                    return Err(ConfigError::At {
                        path: format!("llm.deployments[{i}].provider"),
                        reason: format!("`{}` is not a declared provider", d.provider),
                    });
                }
                for (key, v) in [
                    (
                        "llm.deployments.input_usd_per_million",
                        Some(d.input_usd_per_million),
                    ),
                    (
                        "llm.deployments.output_usd_per_million",
                        Some(d.output_usd_per_million),
                    ),
                    (
                        "llm.deployments.cached_usd_per_million",
                        d.cached_usd_per_million,
                    ),
                    (
                        "llm.deployments.cache_write_usd_per_million",
                        d.cache_write_usd_per_million,
                    ),
                ] {
                    if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                        return Err(bad(key, "must be a non-negative number of dollars"));
                    }
                }
                let weight = std::num::NonZeroU32::new(d.weight)
                    .ok_or_else(|| bad("llm.deployments.weight", "must be at least 1"))?;
                let timeouts = Timeouts::new(
                    millis("llm.deployments.timeout_ms", d.timeout_ms, Timeouts::DEFAULT_RESPONSE)?,
                    millis(
                        "llm.deployments.stream_idle_timeout_ms",
                        d.stream_idle_timeout_ms,
                        Timeouts::DEFAULT_STREAM_IDLE,
                    )?,
                );
                let features = d
                    .features
                    .iter()
                    .map(|name| {
                        Feature::from_name(name).ok_or_else(|| {
                            bad(
                                "llm.deployments.features",
                                format!(
                                    "`{name}` is not anthropic_beta, service_tier, background or server_tools"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(DeploymentConfig {
                    alias: d.alias,
                    provider: d.provider,
                    model: d.model,
                    input_usd_per_million: d.input_usd_per_million,
                    output_usd_per_million: d.output_usd_per_million,
                    cached_usd_per_million: d.cached_usd_per_million,
                    cache_write_usd_per_million: d.cache_write_usd_per_million,
                    tier: d.tier,
                    weight,
                    timeouts,
                    features,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(LlmConfig {
            providers,
            deployments,
            default_output_tokens: file
                .default_output_tokens
                .unwrap_or(agent_gateway_llm::router::DEFAULT_OUTPUT_TOKENS),
        })
    }
}
