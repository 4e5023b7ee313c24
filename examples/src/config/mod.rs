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

pub use a2a::{A2aConfig, AgentConfig, InstanceConfig};
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
        let metrics = MetricsConfig::from_keys(
            telemetry.metrics.take(),
            telemetry.metrics_path.take(),
            telemetry.metrics_label_limit.take(),
        )?;
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
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let c = Config::embedded_default().unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.server.body_limit.get(), DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.server.listen.port(), 8080);
    }

    #[test]
    fn zero_body_limit_is_rejected_with_its_key() {
        let err = Config::from_toml_str("[server]\nbody_limit_bytes = 0\n").unwrap_err();
        assert!(err.to_string().contains("server.body_limit_bytes"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = Config::from_file(Path::new("/nonexistent/gw.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/gw.toml"), "{err}");
    }

    #[test]
    fn policy_sections_parse_into_typed_values() {
        let c = Config::embedded_default().unwrap();
        assert!(c.auth.required);
        assert_eq!(c.auth.api_keys.len(), 1);
        assert_eq!(c.rules.as_ref().map(Vec::len), Some(1));
        assert_eq!(c.quotas[0].key, [KeyPart::Caller]);
        assert_eq!(c.quotas[0].period, std::time::Duration::from_secs(60));
        assert!(c.budget.is_none());
        assert!(c.store.redis_url.is_none());
    }

    #[test]
    fn policy_mistakes_name_their_key() {
        for (text, key) in [
            (
                "[[auth.api_keys]]\nkey_sha256 = \"abc\"\nsubject = \"a\"\n",
                "auth.api_keys.key_sha256",
            ),
            (
                "[authorize]\n[[authorize.rules]]\nid = \"r\"\neffect = \"maybe\"\ncondition = \"true\"\n",
                "authorize.rules.effect",
            ),
            (
                "[[quota]]\nid = \"q\"\nkey = \"subject+colour\"\nlimit = 1\nperiod_secs = 1\n",
                "quota.key",
            ),
            (
                "[[quota]]\nid = \"q\"\nkey = \"subject\"\nlimit = 0\nperiod_secs = 1\n",
                "quota.limit",
            ),
            (
                "[[quota]]\nid = \"q\"\nunit = \"bytes\"\nkey = \"subject\"\nlimit = 1\nperiod_secs = 1\n",
                "quota.unit",
            ),
            ("[budget]\nperiod = \"weekly\"\n", "budget.period"),
            ("[budget]\nper_key_usd = -1.0\n", "budget.per_key_usd"),
            (
                "[budget]\nsoft_limit_percent = 101\n",
                "budget.soft_limit_percent",
            ),
            (
                "[[auth.jwt]]\nissuer = \"i\"\naudience = \"a\"\n",
                "auth.jwt",
            ),
        ] {
            let err = Config::from_toml_str(text).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn mcp_upstreams_run_commands_with_an_explicit_environment() {
        let c = Config::from_toml_str(
            r#"
[mcp]
[[mcp.upstreams]]
name = "fs"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]
env = { LOG_LEVEL = "debug" }
env_from = ["FS_TOKEN"]
cwd = "/srv"
prefix = false
include_tools = ["read_file"]
[[mcp.upstreams]]
name = "github"
url = "http://127.0.0.1:3000/mcp"
"#,
        )
        .unwrap();
        let mcp = c.mcp.unwrap();
        let fs = &mcp.upstreams[0];
        assert!(!fs.prefixed);
        assert!(mcp.upstreams[1].prefixed, "prefixed unless told otherwise");
        assert_eq!(fs.include_tools, ["read_file"]);
        let McpTarget::Command(cmd) = &fs.target else {
            panic!("a command upstream: {fs:?}")
        };
        assert_eq!(cmd.command, "npx");
        assert_eq!(cmd.args[2], "/srv");
        assert_eq!(cmd.env["LOG_LEVEL"], "debug");
        assert_eq!(cmd.env_from, ["FS_TOKEN"]);
        assert_eq!(cmd.cwd.as_deref(), Some(Path::new("/srv")));
        assert!(matches!(mcp.upstreams[1].target, McpTarget::Url(_)));
        assert_eq!(mcp.allowed_hosts, AllowedHosts::Auto);
    }

    #[test]
    fn mcp_allowed_hosts_are_a_list_or_any() {
        let c = Config::from_toml_str("[mcp]\nallowed_hosts = [\"gw.example.com:*\"]\n").unwrap();
        let hosts = c.mcp.unwrap().allowed_hosts;
        assert_eq!(hosts, AllowedHosts::Only(vec!["gw.example.com:*".into()]));
        let c = Config::from_toml_str("[mcp]\nallowed_hosts = [\"*\"]\n").unwrap();
        assert_eq!(c.mcp.unwrap().allowed_hosts, AllowedHosts::Any);
    }

    #[test]
    fn mcp_upstream_mistakes_name_the_upstream_and_key() {
        for (text, key) in [
            (
                "[[mcp.upstreams]]\nname = \"both\"\nurl = \"http://a/mcp\"\ncommand = \"srv\"\n",
                "mcp.upstreams",
            ),
            ("[[mcp.upstreams]]\nname = \"neither\"\n", "mcp.upstreams"),
            (
                "[[mcp.upstreams]]\nname = \"stray\"\nurl = \"http://a/mcp\"\nargs = [\"-v\"]\n",
                "mcp.upstreams",
            ),
            (
                "[[mcp.upstreams]]\nname = \"tok\"\ncommand = \"srv\"\ntoken_env = \"T\"\n",
                "mcp.upstreams.token_env",
            ),
            (
                "[[mcp.upstreams]]\nname = \"empty\"\ncommand = \"\"\n",
                "mcp.upstreams.command",
            ),
            (
                "[[mcp.upstreams]]\nname = \"eq\"\ncommand = \"srv\"\nenv_from = [\"A=B\"]\n",
                "mcp.upstreams.env",
            ),
            (
                "[[mcp.upstreams]]\nname = \"ws\"\nurl = \"http://a/mcp\"\ntransport = \"websocket\"\n",
                "mcp.upstreams.transport",
            ),
            (
                "[[mcp.upstreams]]\nname = \"tr\"\ncommand = \"srv\"\ntransport = \"sse\"\n",
                "mcp.upstreams.transport",
            ),
        ] {
            let text = format!("[mcp]\n{text}");
            let err = Config::from_toml_str(&text).unwrap_err().to_string();
            let name = &text[text.find("name = \"").unwrap() + 8..];
            let name = &name[..name.find('"').unwrap()];
            assert!(err.contains(key), "{key}: {err}");
            assert!(err.contains(&format!("`{name}`")), "{name}: {err}");
        }
    }

    #[test]
    fn mcp_url_upstreams_choose_their_transport() {
        let config = Config::from_toml_str(
            "[mcp]\n[[mcp.upstreams]]\nname = \"old\"\nurl = \"http://127.0.0.1:9/sse\"\n\
             transport = \"sse\"\n[[mcp.upstreams]]\nname = \"new\"\n\
             url = \"http://127.0.0.1:9/mcp\"\ntransport = \"streamable-http\"\n\
             [[mcp.upstreams]]\nname = \"plain\"\nurl = \"http://127.0.0.1:9/mcp\"\n",
        )
        .unwrap();
        let ups = &config.mcp.as_ref().unwrap().upstreams;
        assert!(matches!(&ups[0].target, McpTarget::Sse(u) if u.path() == "/sse"));
        assert!(matches!(&ups[1].target, McpTarget::Url(_)));
        assert!(matches!(&ups[2].target, McpTarget::Url(_)));
    }

    #[test]
    fn at_most_one_mcp_upstream_is_unprefixed() {
        let err = Config::from_toml_str(
            "[mcp]\n[[mcp.upstreams]]\nname = \"a\"\ndemo = true\nprefix = false\n\
             [[mcp.upstreams]]\nname = \"b\"\ncommand = \"srv\"\nprefix = false\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("mcp.upstreams.prefix"), "{err}");
        assert!(err.contains("`a`, `b`"), "{err}");
    }

    #[test]
    fn the_readme_example_config_is_valid() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("An example configuration with every section:")
            .expect("the README shows an example configuration");
        let block = &readme[start..];
        let block = &block[block.find("```toml\n").expect("a toml block") + 8..];
        let block = &block[..block.find("```").expect("the block ends")];
        let c = Config::from_toml_str(block).unwrap();
        assert_eq!(c.rules.as_ref().map(Vec::len), Some(2));
        assert_eq!(c.auth.jwt.len(), 1);
        assert_eq!(c.store.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(c.budget.map(|b| b.period), Some(BudgetPeriod::Monthly));
        let mcp = c.mcp.expect("an [mcp] section");
        let fs = mcp.upstreams.iter().find(|u| u.name == "fs").expect("fs");
        assert!(matches!(fs.target, McpTarget::Command(_)), "{fs:?}");
        let search = mcp.upstreams.iter().find(|u| u.name == "search");
        let search = search.expect("search");
        assert!(
            matches!(&search.target, McpTarget::Pool(p) if p.urls.len() == 2),
            "{search:?}"
        );
        assert!(!fs.prefixed);
        assert!(matches!(mcp.allowed_hosts, AllowedHosts::Only(_)));
        let llm = c.llm.expect("an [llm] section");
        let writes: Vec<_> = llm
            .deployments
            .iter()
            .map(|d| d.cache_write_usd_per_million)
            .collect();
        assert_eq!(writes, [None, None, Some(1.25)]);
        // schema, deny, pii, size, pin, tool_calls.
        assert_eq!(c.guardrails.len(), 6);
        assert!(Guardrails::build(&c.guardrails).unwrap().pins.is_some());
    }

    #[test]
    fn llm_mistakes_name_their_key() {
        for (text, key) in [
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"gemini\"\n",
                "llm.providers.kind",
            ),
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"openai\"\n",
                "llm.providers.base_url",
            ),
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n",
                "llm.providers.name",
            ),
            (
                "[llm]\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"nope\"\nmodel = \"m\"\n",
                "llm.deployments[0].provider",
            ),
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\ninput_usd_per_million = -2.0\n",
                "llm.deployments.input_usd_per_million",
            ),
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"demo\"\n[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\ncache_write_usd_per_million = -1.0\n",
                "llm.deployments.cache_write_usd_per_million",
            ),
        ] {
            let err = Config::from_toml_str(text).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn front_mistakes_name_their_key() {
        for (text, key) in [
            ("[a2a]\n[[a2a.agents]]\nname = \"x\"\n", "a2a.agents"),
            (
                "[a2a]\n[[a2a.agents]]\nname = \"x\"\ndemo = true\n[[a2a.agents.instances]]\nid = \"i\"\nurl = \"http://a/\"\n",
                "a2a.agents",
            ),
            (
                "[a2a]\n[[a2a.agents]]\nname = \"x\"\n[[a2a.agents.instances]]\nid = \"i\"\nurl = \"http://a/\"\nversion = \"2.0\"\n",
                "a2a.agents.instances.version",
            ),
            ("[a2a]\npath = \"a2a\"\n", "a2a.path"),
            ("[mcp]\npath = \"/\"\n", "mcp.path"),
            ("[mcp]\n[[mcp.upstreams]]\nname = \"x\"\n", "mcp.upstreams"),
            (
                "[mcp]\n[[mcp.upstreams]]\nname = \"x\"\nurl = \"http://a/mcp\"\ndemo = true\n",
                "mcp.upstreams",
            ),
            ("[mcp]\nallowed_hosts = []\n", "mcp.allowed_hosts"),
            (
                "[mcp]\nallowed_hosts = [\"*\", \"gw.example.com\"]\n",
                "mcp.allowed_hosts",
            ),
            (
                "[auth.resource_metadata]\nresource = \"https://gw/mcp\"\nauthorization_servers = []\n",
                "auth.resource_metadata.authorization_servers",
            ),
        ] {
            let err = Config::from_toml_str(text).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }
}
