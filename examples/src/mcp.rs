//! The MCP front from the configuration: upstream servers federated behind one endpoint, the
//! policy stack in between.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//! use agent_gateway_examples::mcp::upstreams;
//!
//! let config = Config::embedded_default().unwrap();
//! assert!(upstreams(config.mcp.as_ref().unwrap()).is_ok());
//!
//! let bad = Config::from_toml_str("[mcp]\n[[mcp.upstreams]]\nname = \"a__b\"\ndemo = true\n").unwrap();
//! assert!(upstreams(bad.mcp.as_ref().unwrap()).is_err()); // ambiguous with the `__` separator
//!
//! // A stdio upstream is a child process: it needs a Tokio runtime to be supervised in.
//! let stdio = Config::from_toml_str("[mcp]\n[[mcp.upstreams]]\nname = \"fs\"\ncommand = \"mcp-fs\"\n").unwrap();
//! let err = upstreams(stdio.mcp.as_ref().unwrap()).unwrap_err();
//! assert!(err.to_string().contains("Tokio runtime"), "{err}");
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
use agent_gateway_core::upstream::retry::TpsBudget;
use agent_gateway_core::{Secret, SystemClock};
use agent_gateway_mcp::McpFrontConfig;
use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::connector::{ClientSessionsFill, HttpUpstream, Pool, SseUpstream};
use agent_gateway_mcp::naming::{Naming, ServerName};
use agent_gateway_mcp::router::federation::{Federation, Member, ToolView};
use agent_gateway_mcp::session::{Sealer, SessionKey, SessionStore};
use agent_gateway_policy::metrics::UpstreamHealth;
use http::HeaderValue;

use crate::config::{
    AllowedHosts, ClientSessions, CommandTarget, McpConfig, McpTarget, PoolTarget, RetryConfig,
};
use crate::demo::mcp::DemoMcpServer;

/// MCP configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpSetupError {
    /// An upstream is misconfigured.
    #[error("mcp.upstreams `{name}`: {reason}")]
    Upstream {
        /// The upstream's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The front is misconfigured.
    #[error("mcp: {0}")]
    Front(String),
}

/// The variables a stdio upstream inherits from the gateway's environment without being
/// asked, when they are set: the ones the MCP SDKs' stdio clients pass, none of them secret.
pub const INHERITED_ENV: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

/// The configured upstreams, federated, and the child processes that serve some of them.
#[derive(Debug)]
#[non_exhaustive]
pub struct Upstreams {
    /// One service over every upstream.
    pub federation: Federation,
    /// The stdio upstreams, to be shut down when the gateway stops.
    pub children: Children,
    /// The breakers of the `urls` upstreams' instances, for the metrics.
    pub health: UpstreamHealth,
    /// The per-client session tables of the stdio and legacy SSE upstreams, for the metrics:
    /// `mcp.client_sessions.<upstream>` (`.<n>` after it for the n-th instance of a pool).
    pub client_tables: Vec<(String, ClientSessionsFill)>,
}

/// The stdio upstreams a gateway runs as child processes.
///
/// Dropping every handle (this one and the federation's) stops them too, but only
/// [`shutdown`](Self::shutdown) waits for them to leave.
#[derive(Debug, Clone, Default)]
pub struct Children {
    running: Vec<StdioUpstream>,
}

impl Children {
    /// Whether every child is up and past its MCP handshake (true when there are none).
    pub fn is_ready(&self) -> bool {
        self.running.iter().all(StdioUpstream::is_ready)
    }

    /// Stops every child at once: stdin closed, a bounded wait for it to exit, then a kill.
    /// Calls to a stopped child fail at once.
    pub async fn shutdown(&self) {
        let mut stopping = tokio::task::JoinSet::new();
        for child in &self.running {
            let child = child.clone();
            stopping.spawn(async move { child.shutdown().await });
        }
        while stopping.join_next().await.is_some() {}
    }
}

/// The `Authorization` value for an upstream whose token is in the environment variable
/// `var`, if one is configured.
fn bearer(var: Option<&str>) -> Result<Option<Secret<HeaderValue>>, String> {
    let Some(var) = var else { return Ok(None) };
    let token =
        std::env::var(var).map_err(|_| format!("environment variable `{var}` is not set"))?;
    let value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| format!("`{var}` is not a valid token"))?;
    Ok(Some(Secret::new(value)))
}

/// How the gateway's federation joins server and tool names (`server__tool`): the federation
/// and the front share it, so checks see which upstream and name a call is for.
pub fn naming() -> Naming {
    Naming::default()
}

/// Builds the federation of the configured upstreams, starting the stdio ones.
///
/// Stdio upstreams are spawned here, so this must run within a Tokio runtime when there are
/// any; a variable an upstream's `env_from` names must be set.
pub fn upstreams(config: &McpConfig) -> Result<Upstreams, McpSetupError> {
    let mut builder = Federation::builder().naming(naming());
    let mut children = Children::default();
    let mut health = UpstreamHealth::new();
    let mut client_tables = Vec::new();
    for u in &config.upstreams {
        let table = format!("mcp.client_sessions.{}", u.name);
        let err = |reason: String| McpSetupError::Upstream {
            name: u.name.clone(),
            reason,
        };
        let name = ServerName::new(&u.name).map_err(|e| err(e.to_string()))?;
        let member = match &u.target {
            McpTarget::Demo => Member::new(name, DemoMcpServer::new()),
            McpTarget::Url(uri) => {
                let mut upstream =
                    HttpUpstream::connect(uri.clone()).with_stream_idle_timeout(u.stream_idle);
                if let Some(token) = bearer(u.token_env.as_deref()).map_err(err)? {
                    upstream = upstream.with_authorization(token);
                }
                Member::new(name, upstream)
            }
            McpTarget::Sse(uri) => {
                let mut upstream = sse(uri, u.stream_idle, u.client_sessions);
                if let Some(token) = bearer(u.token_env.as_deref()).map_err(err)? {
                    upstream = upstream.with_authorization(token);
                }
                client_tables.push((table, upstream.client_sessions_fill()));
                Member::new(name, upstream)
            }
            McpTarget::Pool(target) => {
                let token = bearer(u.token_env.as_deref()).map_err(err)?;
                let (pool, fills) =
                    pool(&u.name, target, token, u.stream_idle, u.client_sessions).map_err(err)?;
                for (n, fill) in fills.into_iter().enumerate() {
                    client_tables.push((format!("{table}.{n}"), fill));
                }
                for id in pool.instances() {
                    if let Some(breaker) = pool.breaker(id.as_str()) {
                        health = health.with_instance(&u.name, id.as_str(), breaker.clone(), None);
                    }
                }
                Member::new(name, pool)
            }
            McpTarget::Command(target) => {
                let sessions = u.client_sessions;
                let stdio = stdio_config(target)
                    .map_err(err)?
                    .with_relayed_requests(sessions.relayed)
                    .with_client_sessions(sessions.max, sessions.idle);
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(err(
                        "a stdio upstream is started within a Tokio runtime".into()
                    ));
                }
                tracing::info!(upstream = %u.name, command = %target.command, "mcp: starting a stdio upstream");
                let child = StdioUpstream::spawn(u.name.clone(), stdio);
                client_tables.push((table, child.client_sessions_fill()));
                children.running.push(child.clone());
                Member::new(name, child)
            }
        };
        let mut view = if u.include_tools.is_empty() {
            ToolView::all()
        } else {
            ToolView::include(u.include_tools.iter().cloned())
        };
        if !u.exclude_tools.is_empty() {
            view = view.exclude(u.exclude_tools.iter().cloned());
        }
        let mut member = member.with_timeout(u.timeout).with_view(view);
        if !u.prefixed {
            member = member.without_prefix();
        }
        builder = builder.member(member);
    }
    let federation = builder
        .build()
        .map_err(|e| McpSetupError::Front(e.to_string()))?;
    Ok(Upstreams {
        federation,
        children,
        health,
        client_tables,
    })
}

/// The instances of a `urls` upstream, balanced in a [`Pool`], each sent `token` when one is
/// configured; with the per-client session table of each legacy SSE instance.
fn pool(
    name: &str,
    target: &PoolTarget,
    token: Option<Secret<HeaderValue>>,
    stream_idle: Duration,
    sessions: ClientSessions,
) -> Result<(Pool, Vec<ClientSessionsFill>), String> {
    let mut fills = Vec::new();
    let pool_name = UpstreamName::new(name).map_err(|e| e.to_string())?;
    let mut builder = Pool::builder(pool_name)
        .with_breaker(target.breaker)
        .with_attempt_timeout(target.attempt_timeout);
    let RetryConfig {
        percent,
        min_per_sec,
        ..
    } = target.retry;
    builder = if percent == 0 && min_per_sec == 0 {
        builder.without_retries()
    } else {
        // `percent` is at most 1000 (checked with the config): within TpsBudget's range.
        let ratio = percent as f32 / 100.0;
        builder.with_retry_budget(TpsBudget::new(Duration::from_secs(10), min_per_sec, ratio))
    };
    for url in &target.urls {
        let id = InstanceId::new(url.to_string()).map_err(|e| format!("`{url}`: {e}"))?;
        builder = if target.sse {
            let mut upstream = sse(url, stream_idle, sessions);
            if let Some(token) = &token {
                upstream = upstream.with_authorization(token.clone());
            }
            fills.push(upstream.client_sessions_fill());
            builder.instance(id, upstream)
        } else {
            let mut upstream =
                HttpUpstream::connect(url.clone()).with_stream_idle_timeout(stream_idle);
            if let Some(token) = &token {
                upstream = upstream.with_authorization(token.clone());
            }
            builder.instance(id, upstream)
        };
    }
    let pool = builder.build().map_err(|e| e.to_string())?;
    Ok((pool, fills))
}

/// A legacy SSE upstream at `uri`, with its client sessions as configured.
fn sse(
    uri: &http::Uri,
    stream_idle: Duration,
    sessions: ClientSessions,
) -> SseUpstream<agent_gateway_core::client::HttpClient<http_body_util::Full<bytes::Bytes>>> {
    SseUpstream::connect(uri.clone())
        .with_stream_idle_timeout(stream_idle)
        .with_relayed_requests(sessions.relayed)
        .with_client_sessions(sessions.max, sessions.idle)
}

/// The child's command line and environment: [`INHERITED_ENV`], then `env_from` from the
/// gateway's environment, then `env`; nothing else of the gateway's environment.
fn stdio_config(target: &CommandTarget) -> Result<StdioConfig, String> {
    let mut stdio = StdioConfig::new(&target.command)
        .with_args(&target.args)
        .without_inherited_env()
        .with_max_queued(target.max_queued)
        .with_stall_timeout(target.stall_timeout);
    for var in INHERITED_ENV {
        if let Some(value) = std::env::var_os(var) {
            stdio = stdio.with_env(var, value);
        }
    }
    for var in &target.env_from {
        let value = std::env::var_os(var)
            .ok_or_else(|| format!("environment variable `{var}` (env_from) is not set"))?;
        stdio = stdio.with_env(var, value);
    }
    for (var, value) in &target.env {
        stdio = stdio.with_env(var, value);
    }
    if let Some(dir) = &target.cwd {
        stdio = stdio.with_current_dir(dir);
    }
    Ok(stdio)
}

/// The front's configuration: server identity, session sealing, allowed origins and hosts,
/// body limit, and the federation's [`naming`]. `listen` is the address the gateway is bound to: it picks the default host
/// allow-list (see [`AllowedHosts::Auto`]).
pub fn front_config(
    config: &McpConfig,
    listen: SocketAddr,
    body_limit: usize,
) -> Result<McpFrontConfig, McpSetupError> {
    let front_err = |reason: String| McpSetupError::Front(reason);
    let mut front = McpFrontConfig::new("agent-gateway", env!("CARGO_PKG_VERSION"))
        .map_err(|e| front_err(e.to_string()))?
        .with_max_body(body_limit)
        // A tool call or prompt get carries its upstream and name
        // (`agent_gateway_mcp::naming::FederatedTarget`) for the policy stack's checks.
        .with_naming(naming());
    let key = match &config.session_key_env {
        Some(var) => {
            let hex = std::env::var(var)
                .map_err(|_| front_err(format!("environment variable `{var}` is not set")))?;
            SessionKey::new(Secret::new(parse_hex_key(&hex).ok_or_else(|| {
                front_err(format!("`{var}` must hold 64 hex digits (32 bytes)"))
            })?))
        }
        None => SessionKey::random().map_err(|e| front_err(e.to_string()))?,
    };
    front = front.with_session_key(Sealer::new(key, config.session_ttl, SystemClock::shared()));
    // As every route (`edge::host_policy`): a page on this machine, with no origins configured.
    front = front.with_loopback_origins(listen.ip().is_loopback());
    if !config.allowed_origins.is_empty() {
        let origins = config
            .allowed_origins
            .iter()
            .map(|o| HeaderValue::try_from(o.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| front_err("mcp.allowed_origins: not a valid origin".into()))?;
        front = front.with_allowed_origins(origins);
    }
    if let Some(hosts) = allowed_hosts(&config.allowed_hosts, listen) {
        front = front.with_allowed_hosts(hosts);
    }
    Ok(front)
}

/// The front's live session tables, bounded as `[mcp.limits]` says (the MCP crate's defaults
/// for the keys not given): pass it to
/// [`McpFront::with_session_store`](agent_gateway_mcp::McpFront::with_session_store).
pub fn session_store(config: &McpConfig) -> Arc<SessionStore> {
    Arc::new(SessionStore::with_limits(config.limits))
}

/// The `Host` allow-list for the front; `None` when `Host` is not checked.
pub fn allowed_hosts(hosts: &AllowedHosts, listen: SocketAddr) -> Option<Vec<String>> {
    match hosts {
        AllowedHosts::Only(hosts) => Some(hosts.clone()),
        AllowedHosts::Any => None,
        AllowedHosts::Auto if listen.ip().is_loopback() => {
            let mut hosts: Vec<String> = ["localhost:*", "127.0.0.1:*", "[::1]:*"]
                .map(String::from)
                .into();
            let own = match listen {
                SocketAddr::V4(a) => format!("{}:*", a.ip()),
                SocketAddr::V6(a) => format!("[{}]:*", a.ip()),
            };
            if !hosts.contains(&own) {
                hosts.push(own);
            }
            Some(hosts)
        }
        AllowedHosts::Auto => {
            tracing::warn!(
                %listen,
                "mcp: not on a loopback address, `Host` is not checked; set mcp.allowed_hosts"
            );
            None
        }
    }
}

/// Reads a 32-byte key written as 64 hex digits.
pub fn parse_hex_key(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_listeners_accept_only_loopback_hosts_by_default() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let hosts = allowed_hosts(&AllowedHosts::Auto, local).unwrap();
        assert_eq!(hosts, ["localhost:*", "127.0.0.1:*", "[::1]:*"]);
        let other: SocketAddr = "127.0.0.2:8080".parse().unwrap();
        let hosts = allowed_hosts(&AllowedHosts::Auto, other).unwrap();
        assert!(hosts.contains(&"127.0.0.2:*".to_owned()), "{hosts:?}");
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(allowed_hosts(&AllowedHosts::Auto, v6).unwrap().len(), 3);
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(allowed_hosts(&AllowedHosts::Auto, public), None);
        assert_eq!(allowed_hosts(&AllowedHosts::Any, local), None);
        let only = AllowedHosts::Only(vec!["gw.example.com".into()]);
        assert_eq!(allowed_hosts(&only, public).unwrap(), ["gw.example.com"]);
    }

    #[test]
    fn an_unset_env_from_variable_names_the_upstream_and_the_variable() {
        let config = crate::config::Config::from_toml_str(
            "[mcp]\n[[mcp.upstreams]]\nname = \"fs\"\ncommand = \"mcp-fs\"\n\
             env_from = [\"AGW_TEST_SURELY_UNSET_VARIABLE\"]\n",
        )
        .unwrap();
        let err = upstreams(config.mcp.as_ref().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`fs`"), "{err}");
        assert!(err.contains("AGW_TEST_SURELY_UNSET_VARIABLE"), "{err}");
    }

    #[test]
    fn the_session_store_is_bounded_as_configured() {
        let config = crate::config::Config::from_toml_str(
            "[mcp]\n[mcp.limits]\nlog_levels = 9\nlog_levels_per_caller = 3\n",
        )
        .unwrap();
        let store = session_store(config.mcp.as_ref().unwrap());
        assert_eq!(store.limits().log_levels(), (9, 3));
        assert_eq!(
            store.limits().subscriptions(),
            agent_gateway_mcp::session::SessionLimits::default().subscriptions()
        );
    }

    #[test]
    fn session_keys_are_64_hex_digits() {
        assert_eq!(parse_hex_key(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hex_key(&"ab".repeat(31)), None);
        assert_eq!(parse_hex_key(&"zz".repeat(32)), None);
    }
}
