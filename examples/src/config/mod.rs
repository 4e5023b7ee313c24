//! The gateway's configuration file: TOML on the outside, typed values on the inside.
//!
//! The file is read into plain serde structs, then converted with `TryFrom` into [`Config`],
//! which fails with a precise error naming the bad key. Nothing deeper in the gateway parses
//! strings.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//!
//! let config = Config::from_toml_str("[server]\nlisten = \"127.0.0.1:0\"\nbody_limit_bytes = 1024\n").unwrap();
//! assert_eq!(config.server.listen.port(), 0);
//! assert_eq!(config.server.body_limit.get(), 1024);
//!
//! let err = Config::from_toml_str("[server]\nlisten = \"not an address\"\n").unwrap_err();
//! assert!(err.to_string().contains("server.listen"), "{err}");
//! assert!(Config::from_toml_str("[server]\nlisten_typo = 1\n").is_err());
//! ```

use std::path::Path;

use serde::Deserialize;

mod a2a;
mod audit;
pub mod check;
mod guardrails;
mod llm;
mod mcp;
mod metrics;

pub use a2a::{A2aConfig, AgentConfig, DataSchemasSource, InstanceConfig};
pub use audit::{AuditConfig, AuditStore, DEFAULT_AUDIT_PATH};
pub use guardrails::{GuardrailConfig, GuardrailKind, Guardrails};
pub use metrics::{DEFAULT_METRICS_PATH, MetricsConfig};
pub use server::{DEFAULT_BODY_LIMIT, DEFAULT_LISTEN, ServerConfig};
mod policy;
mod runs;
mod server;
mod telemetry;

#[cfg(feature = "otel")]
pub(crate) use telemetry::check_endpoint;
pub use telemetry::{
    DEFAULT_EXPORT_INTERVAL, DEFAULT_EXPORT_TIMEOUT, DEFAULT_MAX_QUEUE, DEFAULT_SERVICE_NAME,
    TelemetryConfig,
};

pub use mcp::{
    AllowedHosts, ClientSessions, CommandTarget, McpConfig, McpTarget, McpUpstreamConfig,
    PoolTarget, RetryConfig,
};

pub use llm::{DeploymentConfig, LlmConfig, ProviderConfig, ProviderKind};
pub use runs::{RunsConfig, RunsSetupError};

pub use policy::{
    ApiKeyConfig, AuthConfig, BudgetConfig, BudgetPeriod, JwksLocation, JwtConfig, KeyPart,
    QuotaConfig, QuotaUnit, ResourceMetadataConfig, RuleConfig, StoreConfig,
};

/// The embedded default configuration, used when no file is given.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../gateway.default.toml");

/// A configuration that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid config: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A value is out of range or malformed.
    #[error("invalid config value `{key}`: {reason}")]
    Value {
        /// The dotted key, e.g. `server.listen`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value is wrong at a key path that includes array positions, e.g.
    /// `llm.deployments[2].provider`.
    #[error("invalid config value `{path}`: {reason}")]
    At {
        /// The key path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole configuration, typed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// Authorization rules; `None` when the file has no `[authorize]` section. With one, any
    /// request no rule allows is refused.
    pub rules: Option<Vec<RuleConfig>>,
    /// Quotas.
    pub quotas: Vec<QuotaConfig>,
    /// Spend budgets, if any.
    pub budget: Option<BudgetConfig>,
    /// The counter store behind quotas and budgets.
    pub store: StoreConfig,
    /// Run budgets and loop detection; `None` when the file has no `[runs]` section.
    pub runs: Option<RunsConfig>,
    /// The LLM fronts; `None` when the file has no `[llm]` section.
    pub llm: Option<LlmConfig>,
    /// The MCP front; `None` when the file has no `[mcp]` section.
    pub mcp: Option<McpConfig>,
    /// The A2A front; `None` when the file has no `[a2a]` section.
    pub a2a: Option<A2aConfig>,
    /// The audit log; `None` when the file has no `[audit]` section.
    pub audit: Option<AuditConfig>,
    /// The guardrails (`[[guardrails]]`), in file order; none by default.
    pub guardrails: Vec<GuardrailConfig>,
    /// OpenTelemetry export (`[telemetry]`); nothing is exported by default.
    pub telemetry: TelemetryConfig,
    /// Prometheus metrics (`[telemetry] metrics`, `metrics_path`): on, at `/metrics`, by
    /// default.
    pub metrics: MetricsConfig,
    /// The file's table as read: a reload compares sections with it.
    source: std::sync::Arc<toml::Table>,
}

impl Config {
    /// The embedded default configuration.
    pub fn embedded_default() -> Result<Config, ConfigError> {
        Config::from_toml_str(EMBEDDED_DEFAULT)
    }

    /// Parses a configuration from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text)?;
        let mut config = Config::try_from(file)?;
        config.source = std::sync::Arc::new(toml::from_str(text)?);
        Ok(config)
    }

    /// Whether the section `name` (e.g. `"mcp"`) is spelled the same in both files, key for
    /// key and value for value (comments and layout aside): what a reload keeps running.
    pub fn same_section(&self, other: &Config, name: &str) -> bool {
        self.source.get(name) == other.source.get(name)
    }

    /// Reads and parses a configuration file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml_str(&text)
    }
}

/// The file's shape, as serde reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: server::FileServer,
    #[serde(default)]
    auth: policy::FileAuth,
    authorize: Option<FileAuthorize>,
    #[serde(default)]
    quota: Vec<policy::FileQuota>,
    budget: Option<policy::FileBudget>,
    #[serde(default)]
    store: policy::FileStore,
    runs: Option<runs::FileRuns>,
    llm: Option<llm::FileLlm>,
    mcp: Option<mcp::FileMcp>,
    a2a: Option<a2a::FileA2a>,
    audit: Option<audit::FileAudit>,
    #[serde(default)]
    guardrails: Vec<guardrails::FileGuardrail>,
    #[serde(default)]
    telemetry: telemetry::FileTelemetry,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuthorize {
    #[serde(default)]
    rules: Vec<policy::FileRule>,
}

impl TryFrom<FileConfig> for Config {
    type Error = ConfigError;

    fn try_from(file: FileConfig) -> Result<Config, ConfigError> {
        let mut telemetry = file.telemetry;
        let metrics = MetricsConfig::take_keys(&mut telemetry)?;
        let config = Config {
            server: file.server.try_into()?,
            auth: file.auth.try_into()?,
            rules: file
                .authorize
                .map(|a| a.rules.into_iter().map(RuleConfig::try_from).collect())
                .transpose()?,
            quotas: file
                .quota
                .into_iter()
                .map(QuotaConfig::try_from)
                .collect::<Result<_, _>>()?,
            budget: file.budget.map(BudgetConfig::try_from).transpose()?,
            store: file.store.into(),
            runs: file.runs.map(RunsConfig::try_from).transpose()?,
            llm: file.llm.map(LlmConfig::try_from).transpose()?,
            mcp: file.mcp.map(McpConfig::try_from).transpose()?,
            a2a: file.a2a.map(A2aConfig::try_from).transpose()?,
            audit: file.audit.map(AuditConfig::try_from).transpose()?,
            guardrails: file
                .guardrails
                .into_iter()
                .map(GuardrailConfig::try_from)
                .collect::<Result<_, _>>()?,
            telemetry: telemetry.try_into()?,
            metrics,
            source: Default::default(),
        };
        if let Some(mcp) = &config.mcp {
            config.metrics.check_front("mcp.path", &mcp.path)?;
        }
        if let Some(a2a) = &config.a2a {
            config.metrics.check_front("a2a.path", &a2a.path)?;
        }
        config
            .metrics
            .check_front("the guardrails' admin", "/admin/guardrails")?;
        config
            .metrics
            .check_front("the well-known documents", "/.well-known")?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
