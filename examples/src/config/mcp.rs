//! The `[mcp]` section: the MCP front and the upstream servers federated behind it.

use std::time::Duration;

use agent_gateway_mcp::session::SessionLimits;
use serde::Deserialize;

use super::ConfigError;

mod command;
mod limits;
mod pool;
mod upstreams;

pub use command::CommandTarget;
pub use pool::{PoolTarget, RetryConfig};
pub use upstreams::{ClientSessions, McpTarget, McpUpstreamConfig};

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
    /// The `Host` values accepted (the other half of DNS-rebinding protection).
    pub allowed_hosts: AllowedHosts,
    /// The upstream servers.
    pub upstreams: Vec<McpUpstreamConfig>,
    /// The bounds of the front's session tables (`[mcp.limits]`): subscriptions, resumable
    /// streams, pending server→client requests, ended sessions and log levels, in all and per
    /// caller; the MCP crate's defaults for the keys not given.
    pub limits: SessionLimits,
}

/// Which `Host` header values the MCP front accepts; others are answered 403.
///
/// A web page on a name its attacker controls can have that name resolve to 127.0.0.1 (DNS
/// rebinding) and then call a gateway listening there from the victim's browser: the request
/// carries the attacker's name in `Host`. Accepting only the names the gateway is reached by
/// stops that.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowedHosts {
    /// The default (no `allowed_hosts` key): when the gateway listens on a loopback address,
    /// only `localhost`, `127.0.0.1`, `[::1]` and the listen address, on any port; otherwise
    /// `Host` is not checked (the names a public gateway is reached by are not known).
    Auto,
    /// `allowed_hosts = ["*"]`: `Host` is not checked.
    Any,
    /// Only these: `host`, `host:port`, or `host:*` for any port.
    Only(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileMcp {
    path: Option<String>,
    session_key_env: Option<String>,
    session_ttl_secs: Option<u64>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    upstreams: Vec<upstreams::FileUpstream>,
    #[serde(default)]
    limits: limits::FileLimits,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

fn allowed_hosts(hosts: Option<Vec<String>>) -> Result<AllowedHosts, ConfigError> {
    let Some(hosts) = hosts else {
        return Ok(AllowedHosts::Auto);
    };
    let key = "mcp.allowed_hosts";
    if hosts.is_empty() {
        return Err(bad(
            key,
            "list the accepted hosts, or [\"*\"] to accept any",
        ));
    }
    if hosts.iter().any(|h| h == "*") {
        return if hosts.len() == 1 {
            Ok(AllowedHosts::Any)
        } else {
            Err(bad(key, "`*` accepts any host: give it alone"))
        };
    }
    if let Some(h) = hosts
        .iter()
        .find(|h| h.is_empty() || h.contains(|c: char| c.is_whitespace() || c == '/'))
    {
        return Err(bad(
            key,
            format!("`{h}` is not a host, host:port or host:*"),
        ));
    }
    Ok(AllowedHosts::Only(hosts))
}

impl TryFrom<FileMcp> for McpConfig {
    type Error = ConfigError;

    fn try_from(file: FileMcp) -> Result<Self, ConfigError> {
        let path = file.path.unwrap_or_else(|| "/mcp".into());
        if !path.starts_with('/') || path.len() < 2 {
            return Err(bad("mcp.path", "must start with `/` and name a route"));
        }
        let upstreams: Vec<McpUpstreamConfig> = file
            .upstreams
            .into_iter()
            .map(McpUpstreamConfig::try_from)
            .collect::<Result<_, _>>()?;
        let unprefixed: Vec<&str> = upstreams
            .iter()
            .filter(|u| !u.prefixed)
            .map(|u| u.name.as_str())
            .collect();
        if unprefixed.len() > 1 {
            return Err(bad(
                "mcp.upstreams.prefix",
                format!(
                    "at most one upstream may have prefix = false, not `{}`",
                    unprefixed.join("`, `")
                ),
            ));
        }
        Ok(McpConfig {
            path,
            session_key_env: file.session_key_env,
            session_ttl: Duration::from_secs(file.session_ttl_secs.unwrap_or(3600)),
            allowed_origins: file.allowed_origins,
            allowed_hosts: allowed_hosts(file.allowed_hosts)?,
            upstreams,
            limits: SessionLimits::try_from(file.limits)?,
        })
    }
}
