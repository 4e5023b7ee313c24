//! The `[a2a]` section: the A2A front and the registry of named agents behind it.

use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_a2a::front::CardVersions;
use serde::Deserialize;
use serde_json::Value;

use super::ConfigError;

/// The A2A front's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct A2aConfig {
    /// Where the front is mounted.
    pub path: String,
    /// The URL clients reach the front at, written into agent cards; by default
    /// `http://<bound address><path>`.
    pub public_url: Option<String>,
    /// The environment variable holding the key (64 hex digits) that seals task and context
    /// ids, so that any replica sharing it routes a task to the instance that owns it. Without
    /// it a random key is drawn at start.
    pub seal_key_env: Option<String>,
    /// URL prefixes push-notification webhooks may use; none by default (every webhook
    /// refused).
    pub webhook_prefixes: Vec<String>,
    /// How long an agent card fetch may take (`card_timeout_ms`); by default the registry's
    /// (5 s).
    pub card_timeout: Option<Duration>,
    /// Which versions the rewritten cards advertise (`card_versions`: `"dual"`, the default,
    /// or `"1.0"` for a card valid under the 1.0 schema that 0.3 clients cannot use).
    pub card_versions: CardVersions,
    /// The agent whose card is also served at the host root, `/.well-known/agent-card.json`,
    /// where A2A 0.3 clients look for it (`default_agent`); none by default.
    pub default_agent: Option<String>,
    /// The agents.
    pub agents: Vec<AgentConfig>,
}

/// One named agent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AgentConfig {
    /// Its name, in the gateway's URLs.
    pub name: String,
    /// A description for discovery.
    pub description: Option<String>,
    /// Tags for discovery search.
    pub tags: Vec<String>,
    /// Its owner.
    pub owner: Option<String>,
    /// Where its card is fetched (by default from the first instance's origin).
    pub card_url: Option<String>,
    /// Serve it from the in-process demo agent instead of instances.
    pub demo: bool,
    /// How long an instance may take to send response headers (`timeout_ms`; default 30 s).
    pub timeout: Option<Duration>,
    /// How long connecting to an instance may take (`connect_timeout_ms`; default 5 s).
    pub connect_timeout: Option<Duration>,
    /// The longest silence inside an instance's stream (`stream_idle_timeout_ms`; default
    /// 5 minutes).
    pub stream_idle_timeout: Option<Duration>,
    /// Which versions its rewritten card advertises (`card_versions`), if not the front's.
    pub card_versions: Option<CardVersions>,
    /// The schemas of its data parts (`data_schemas`, inline, or `data_schemas_file`, a JSON
    /// file), in place of what its card declares; checked by a `data_schema` guardrail.
    pub data_schemas: Option<DataSchemasSource>,
    /// Its instances.
    pub instances: Vec<InstanceConfig>,
}

/// Where an agent's configured data schemas are: the declaration's shape is that of the card
/// extension (media type to JSON Schema, optional `accepts` and `returns`; see
/// [`agent_gateway_a2a::data`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DataSchemasSource {
    /// Written in the config file.
    Inline(Value),
    /// In a JSON file, read when the policies are built (and by `--check`).
    File(PathBuf),
}

impl DataSchemasSource {
    /// The declaration: the inline one, or the file's, parsed.
    pub fn load(&self) -> Result<Value, String> {
        match self {
            DataSchemasSource::Inline(v) => Ok(v.clone()),
            DataSchemasSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not JSON: {e}", path.display()))
            }
        }
    }
}

/// One instance of an agent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstanceConfig {
    /// Its id, sealed into the ids of the tasks it owns.
    pub id: String,
    /// Its JSON-RPC endpoint.
    pub url: String,
    /// The A2A version it speaks: `1.0` or `0.3`.
    pub version: String,
    /// The environment variable holding the bearer token sent to it.
    pub token_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileA2a {
    path: Option<String>,
    public_url: Option<String>,
    seal_key_env: Option<String>,
    #[serde(default)]
    webhook_prefixes: Vec<String>,
    card_timeout_ms: Option<u64>,
    card_versions: Option<String>,
    default_agent: Option<String>,
    #[serde(default)]
    agents: Vec<FileAgent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAgent {
    name: String,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    owner: Option<String>,
    card_url: Option<String>,
    #[serde(default)]
    demo: bool,
    timeout_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    stream_idle_timeout_ms: Option<u64>,
    card_versions: Option<String>,
    data_schemas: Option<Value>,
    data_schemas_file: Option<PathBuf>,
    #[serde(default)]
    instances: Vec<FileInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInstance {
    id: String,
    url: String,
    #[serde(default = "v1")]
    version: String,
    token_env: Option<String>,
}

fn v1() -> String {
    "1.0".into()
}

/// A positive number of milliseconds, as a duration.
fn millis(key: &'static str, ms: Option<u64>) -> Result<Option<Duration>, ConfigError> {
    match ms {
        Some(0) => Err(bad(key, "must be at least 1 ms")),
        other => Ok(other.map(Duration::from_millis)),
    }
}

/// `"dual"` or `"1.0"`.
fn card_versions(
    key: &'static str,
    value: Option<&str>,
) -> Result<Option<CardVersions>, ConfigError> {
    match value {
        None => Ok(None),
        Some("dual") => Ok(Some(CardVersions::Dual)),
        Some("1.0") => Ok(Some(CardVersions::V1Only)),
        Some(other) => Err(bad(
            key,
            format!("`{other}` is neither \"dual\" nor \"1.0\""),
        )),
    }
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileA2a> for A2aConfig {
    type Error = ConfigError;

    fn try_from(file: FileA2a) -> Result<Self, ConfigError> {
        let path = file.path.unwrap_or_else(|| "/a2a".into());
        if !path.starts_with('/') || path.len() < 2 || path.ends_with('/') {
            return Err(bad(
                "a2a.path",
                "must start with `/`, name a route and not end with `/`",
            ));
        }
        let agents = file
            .agents
            .into_iter()
            .map(|a| {
                if a.demo != a.instances.is_empty() {
                    return Err(bad(
                        "a2a.agents",
                        format!("`{}` needs either instances or demo = true", a.name),
                    ));
                }
                let instances = a
                    .instances
                    .into_iter()
                    .map(|i| {
                        if !matches!(i.version.as_str(), "1.0" | "0.3") {
                            return Err(bad(
                                "a2a.agents.instances.version",
                                format!("`{}` is neither 1.0 nor 0.3", i.version),
                            ));
                        }
                        Ok(InstanceConfig {
                            id: i.id,
                            url: i.url,
                            version: i.version,
                            token_env: i.token_env,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                let data_schemas = match (a.data_schemas, a.data_schemas_file) {
                    (None, None) => None,
                    (Some(v), None) => Some(DataSchemasSource::Inline(v)),
                    (None, Some(path)) => Some(DataSchemasSource::File(path)),
                    (Some(_), Some(_)) => {
                        return Err(bad(
                            "a2a.agents.data_schemas",
                            format!(
                                "`{}`: set data_schemas or data_schemas_file, not both",
                                a.name
                            ),
                        ));
                    }
                };
                Ok(AgentConfig {
                    data_schemas,
                    card_versions: card_versions(
                        "a2a.agents.card_versions",
                        a.card_versions.as_deref(),
                    )?,
                    timeout: millis("a2a.agents.timeout_ms", a.timeout_ms)?,
                    connect_timeout: millis("a2a.agents.connect_timeout_ms", a.connect_timeout_ms)?,
                    stream_idle_timeout: millis(
                        "a2a.agents.stream_idle_timeout_ms",
                        a.stream_idle_timeout_ms,
                    )?,
                    name: a.name,
                    description: a.description,
                    tags: a.tags,
                    owner: a.owner,
                    card_url: a.card_url,
                    demo: a.demo,
                    instances,
                })
            })
            .collect::<Result<Vec<AgentConfig>, _>>()?;
        if let Some(name) = &file.default_agent
            && !agents.iter().any(|a| &a.name == name)
        {
            return Err(bad(
                "a2a.default_agent",
                format!("`{name}` is not a configured agent"),
            ));
        }
        Ok(A2aConfig {
            card_versions: card_versions("a2a.card_versions", file.card_versions.as_deref())?
                .unwrap_or_default(),
            default_agent: file.default_agent,
            path,
            public_url: file.public_url,
            seal_key_env: file.seal_key_env,
            webhook_prefixes: file.webhook_prefixes,
            card_timeout: millis("a2a.card_timeout_ms", file.card_timeout_ms)?,
            agents,
        })
    }
}
