//! The `[mcp]` section: the MCP front and the upstream servers federated behind it.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The MCP front's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct McpConfig {
    /// Where the front is mounted.
    pub path: String,
    /// The environment variable holding the 32-byte session-sealing key, as 64 hex digits.
    /// Replicas sharing it serve each other's legacy sessions; without it a random key is
    /// drawn at start.
    pub session_key_env: Option<String>,
    /// How long a legacy session lives.
    pub session_ttl: Duration,
    /// Browser origins allowed to call (DNS-rebinding protection); none by default.
    pub allowed_origins: Vec<String>,
    /// The upstream servers.
    pub upstreams: Vec<McpUpstreamConfig>,
}

/// One upstream MCP server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct McpUpstreamConfig {
    /// Its name: the prefix of its tools, prompts and resources.
    pub name: String,
    /// Where it is.
    pub target: McpTarget,
    /// The environment variable holding the bearer token sent to it.
    pub token_env: Option<String>,
    /// How long it may take to answer.
    pub timeout: Duration,
    /// Only these tools are shown (all when empty).
    pub include_tools: Vec<String>,
    /// These tools are hidden.
    pub exclude_tools: Vec<String>,
}

/// Where an upstream MCP server is.
#[derive(Debug, Clone)]
pub enum McpTarget {
    /// A streamable-HTTP endpoint, of either era.
    Url(http::Uri),
    /// An in-process demo server with an `echo` tool.
    Demo,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileMcp {
    path: Option<String>,
    session_key_env: Option<String>,
    session_ttl_secs: Option<u64>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    upstreams: Vec<FileUpstream>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    name: String,
    url: Option<String>,
    #[serde(default)]
    demo: bool,
    token_env: Option<String>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    include_tools: Vec<String>,
    #[serde(default)]
    exclude_tools: Vec<String>,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileMcp> for McpConfig {
    type Error = ConfigError;

    fn try_from(file: FileMcp) -> Result<Self, ConfigError> {
        let path = file.path.unwrap_or_else(|| "/mcp".into());
        if !path.starts_with('/') || path.len() < 2 {
            return Err(bad("mcp.path", "must start with `/` and name a route"));
        }
        let upstreams = file
            .upstreams
            .into_iter()
            .map(|u| {
                let target = match (u.url, u.demo) {
                    (Some(url), false) => McpTarget::Url(url.parse().map_err(|e| {
                        bad("mcp.upstreams.url", format!("`{url}` is not a URL ({e})"))
                    })?),
                    (None, true) => McpTarget::Demo,
                    _ => {
                        return Err(bad(
                            "mcp.upstreams",
                            format!("`{}` needs exactly one of url and demo = true", u.name),
                        ));
                    }
                };
                Ok(McpUpstreamConfig {
                    name: u.name,
                    target,
                    token_env: u.token_env,
                    timeout: Duration::from_millis(u.timeout_ms.unwrap_or(10_000)),
                    include_tools: u.include_tools,
                    exclude_tools: u.exclude_tools,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(McpConfig {
            path,
            session_key_env: file.session_key_env,
            session_ttl: Duration::from_secs(file.session_ttl_secs.unwrap_or(3600)),
            allowed_origins: file.allowed_origins,
            upstreams,
        })
    }
}
