//! The `[mcp]` section: the MCP front and the upstream servers federated behind it.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_mcp::session::SessionLimits;
use serde::Deserialize;

use super::ConfigError;

mod limits;

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

/// One upstream MCP server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct McpUpstreamConfig {
    /// Its name: the prefix of its tools, prompts and resources.
    pub name: String,
    /// Where it is.
    pub target: McpTarget,
    /// The environment variable holding the bearer token sent to it (URL upstreams only).
    pub token_env: Option<String>,
    /// How long it may take to answer.
    pub timeout: Duration,
    /// How long an HTTP upstream (`url`, `urls`, either transport) may send nothing:
    /// connecting, before an answer's headers, within an answer or a notification stream
    /// (`stream_idle_timeout_ms`, default 120 000).
    pub stream_idle: Duration,
    /// Only these tools are shown (all when empty).
    pub include_tools: Vec<String>,
    /// These tools are hidden.
    pub exclude_tools: Vec<String>,
    /// Whether its names carry its prefix; `false` (`prefix = false`) for at most one upstream.
    pub prefixed: bool,
}

/// Where an upstream MCP server is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum McpTarget {
    /// A streamable-HTTP endpoint, of either era.
    Url(http::Uri),
    /// A server on the legacy HTTP+SSE transport (MCP 2024-11-05): the URL of its SSE stream
    /// (`transport = "sse"`).
    Sse(http::Uri),
    /// Several instances of one server (`urls = [...]`), balanced, each behind a circuit
    /// breaker, idempotent calls retried on another instance within a budget.
    Pool(PoolTarget),
    /// A server the gateway runs as a child process, speaking MCP on stdin and stdout.
    Command(CommandTarget),
    /// An in-process demo server with an `echo` tool.
    Demo,
}

/// Several instances of one MCP server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolTarget {
    /// The instances' URLs, each one distinct.
    pub urls: Vec<http::Uri>,
    /// Whether they speak the legacy HTTP+SSE transport (`transport = "sse"`).
    pub sse: bool,
    /// When an instance is taken out, and how it is probed back (`breaker = {...}`).
    pub breaker: BreakerConfig,
    /// How many failed idempotent calls are retried on another instance (`retry = {...}`).
    pub retry: RetryConfig,
    /// How long an idempotent call may take on one instance before it is retried elsewhere
    /// (`attempt_timeout_ms`).
    pub attempt_timeout: Duration,
}

/// A retry budget: retries may add `percent`% of recent calls, plus `min_per_sec` a second.
/// Both zero: no retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries as a share of recent calls, in percent (0 to 1000).
    pub percent: u32,
    /// Retries allowed each second however few calls there were.
    pub min_per_sec: u32,
}

impl Default for RetryConfig {
    /// 20% of calls, plus 10 a second.
    fn default() -> Self {
        RetryConfig {
            percent: 20,
            min_per_sec: 10,
        }
    }
}

/// How to run a stdio upstream.
///
/// The child does not inherit the gateway's environment: it gets only `PATH`, `HOME`,
/// `USER`, `LOGNAME`, `SHELL` and `TERM` (as the MCP SDKs' stdio clients pass), the
/// variables named in `env_from` with the gateway's values, and `env`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommandTarget {
    /// The program: a path, or a name looked up in `PATH`.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for it, with their values from the file.
    pub env: BTreeMap<String, String>,
    /// Variables passed on from the gateway's environment (secrets belong here, not in
    /// `env`); one that is not set is an error at start.
    pub env_from: Vec<String>,
    /// Its working directory (a relative one is taken from the gateway's); the gateway's when
    /// absent.
    pub cwd: Option<PathBuf>,
    /// The most bytes waiting for its stdin (`max_queued_bytes`, default 16 MiB): past it,
    /// calls fail at once.
    pub max_queued: usize,
    /// How long it may take no line from its stdin before it is restarted (`stall_timeout_ms`,
    /// default 10 000).
    pub stall_timeout: Duration,
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
    upstreams: Vec<FileUpstream>,
    #[serde(default)]
    limits: limits::FileLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    name: String,
    url: Option<String>,
    urls: Option<Vec<String>>,
    breaker: Option<FileBreaker>,
    retry: Option<FileRetry>,
    attempt_timeout_ms: Option<u64>,
    transport: Option<String>,
    command: Option<String>,
    #[serde(default)]
    demo: bool,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    env_from: Option<Vec<String>>,
    cwd: Option<PathBuf>,
    max_queued_bytes: Option<usize>,
    stall_timeout_ms: Option<u64>,
    token_env: Option<String>,
    timeout_ms: Option<u64>,
    stream_idle_timeout_ms: Option<u64>,
    #[serde(default)]
    include_tools: Vec<String>,
    #[serde(default)]
    exclude_tools: Vec<String>,
    prefix: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBreaker {
    failures: Option<u32>,
    cooldown_ms: Option<u64>,
    max_cooldown_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetry {
    percent: Option<u32>,
    min_per_sec: Option<u32>,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

/// A name that can be an environment variable's.
fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

impl TryFrom<FileUpstream> for McpUpstreamConfig {
    type Error = ConfigError;

    fn try_from(u: FileUpstream) -> Result<Self, ConfigError> {
        let name = u.name;
        let stdio_only = [
            ("args", u.args.is_some()),
            ("env", u.env.is_some()),
            ("env_from", u.env_from.is_some()),
            ("cwd", u.cwd.is_some()),
            ("max_queued_bytes", u.max_queued_bytes.is_some()),
            ("stall_timeout_ms", u.stall_timeout_ms.is_some()),
        ];
        if u.command.is_none()
            && let Some((key, _)) = stdio_only.iter().find(|(_, given)| *given)
        {
            return Err(bad(
                "mcp.upstreams",
                format!("`{name}`: `{key}` is for command upstreams; give `command` too"),
            ));
        }
        if u.url.is_none() && u.urls.is_none() && u.transport.is_some() {
            return Err(bad(
                "mcp.upstreams.transport",
                format!("`{name}`: `transport` is for url upstreams; give `url` or `urls` too"),
            ));
        }
        let pool_only = [
            ("breaker", u.breaker.is_some()),
            ("retry", u.retry.is_some()),
            ("attempt_timeout_ms", u.attempt_timeout_ms.is_some()),
        ];
        if u.urls.is_none()
            && let Some((key, _)) = pool_only.iter().find(|(_, given)| *given)
        {
            return Err(bad(
                "mcp.upstreams",
                format!(
                    "`{name}`: `{key}` is for upstreams with several instances; list them in `urls`"
                ),
            ));
        }
        let sse = transport_is_sse(&name, u.transport.as_deref())?;
        let target = match (u.url, u.urls, u.command, u.demo) {
            (Some(url), None, None, false) => {
                let uri = parse_url(&name, "mcp.upstreams.url", &url)?;
                if sse {
                    McpTarget::Sse(uri)
                } else {
                    McpTarget::Url(uri)
                }
            }
            (None, Some(urls), None, false) => McpTarget::Pool(PoolTarget {
                urls: parse_urls(&name, &urls)?,
                sse,
                breaker: breaker(&name, u.breaker)?,
                retry: retry(&name, u.retry)?,
                attempt_timeout: positive_ms(
                    &name,
                    "mcp.upstreams.attempt_timeout_ms",
                    u.attempt_timeout_ms.unwrap_or(10_000),
                )?,
            }),
            (None, None, Some(command), false) => {
                if u.token_env.is_some() {
                    return Err(bad(
                        "mcp.upstreams.token_env",
                        format!(
                            "`{name}`: a bearer token is for url upstreams; pass a stdio \
                             server's credentials with env_from"
                        ),
                    ));
                }
                if command.is_empty() {
                    return Err(bad(
                        "mcp.upstreams.command",
                        format!("`{name}`: the command is empty"),
                    ));
                }
                let env = u.env.unwrap_or_default();
                let env_from = u.env_from.unwrap_or_default();
                if let Some(var) = env.keys().chain(&env_from).find(|v| !env_name_ok(v)) {
                    return Err(bad(
                        "mcp.upstreams.env",
                        format!("`{name}`: `{var}` is not an environment variable name"),
                    ));
                }
                let max_queued = u.max_queued_bytes.unwrap_or(16 * 1024 * 1024);
                if max_queued == 0 {
                    return Err(bad(
                        "mcp.upstreams.max_queued_bytes",
                        format!("`{name}`: must be at least 1"),
                    ));
                }
                McpTarget::Command(CommandTarget {
                    command,
                    args: u.args.unwrap_or_default(),
                    env,
                    env_from,
                    cwd: u.cwd,
                    max_queued,
                    stall_timeout: positive_ms(
                        &name,
                        "mcp.upstreams.stall_timeout_ms",
                        u.stall_timeout_ms.unwrap_or(10_000),
                    )?,
                })
            }
            (None, None, None, true) => McpTarget::Demo,
            _ => {
                return Err(bad(
                    "mcp.upstreams",
                    format!("`{name}` needs exactly one of url, urls, command and demo = true"),
                ));
            }
        };
        let stream_idle = positive_ms(
            &name,
            "mcp.upstreams.stream_idle_timeout_ms",
            u.stream_idle_timeout_ms.unwrap_or(120_000),
        )?;
        Ok(McpUpstreamConfig {
            name,
            target,
            token_env: u.token_env,
            timeout: Duration::from_millis(u.timeout_ms.unwrap_or(10_000)),
            stream_idle,
            include_tools: u.include_tools,
            exclude_tools: u.exclude_tools,
            prefixed: u.prefix.unwrap_or(true),
        })
    }
}

/// Whether `transport` names the legacy SSE transport; streamable HTTP when absent.
fn transport_is_sse(name: &str, transport: Option<&str>) -> Result<bool, ConfigError> {
    match transport {
        None | Some("streamable-http") => Ok(false),
        Some("sse") => Ok(true),
        Some(other) => Err(bad(
            "mcp.upstreams.transport",
            format!("`{name}`: transport `{other}` is not one of \"streamable-http\" and \"sse\""),
        )),
    }
}

fn parse_url(name: &str, key: &'static str, url: &str) -> Result<http::Uri, ConfigError> {
    url.parse()
        .map_err(|e| bad(key, format!("`{name}`: `{url}` is not a URL ({e})")))
}

/// The instances' URLs: at least one, each a URL, none twice.
fn parse_urls(name: &str, urls: &[String]) -> Result<Vec<http::Uri>, ConfigError> {
    let key = "mcp.upstreams.urls";
    if urls.is_empty() {
        return Err(bad(key, format!("`{name}`: list at least one URL")));
    }
    if let Some((i, url)) = urls
        .iter()
        .enumerate()
        .find(|(i, url)| urls[..*i].contains(url))
    {
        return Err(bad(
            key,
            format!("`{name}`: `{url}` is listed twice (entry {})", i + 1),
        ));
    }
    urls.iter().map(|url| parse_url(name, key, url)).collect()
}

fn positive_ms(name: &str, key: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(bad(key, format!("`{name}`: must be at least 1")));
    }
    Ok(Duration::from_millis(ms))
}

/// `breaker = { failures, cooldown_ms, max_cooldown_ms }`, each optional (defaults: 5
/// failures, 5 s growing to 60 s).
fn breaker(name: &str, file: Option<FileBreaker>) -> Result<BreakerConfig, ConfigError> {
    let Some(file) = file else {
        return Ok(BreakerConfig::default());
    };
    let failures = NonZeroU32::new(file.failures.unwrap_or(5)).ok_or_else(|| {
        bad(
            "mcp.upstreams.breaker.failures",
            format!("`{name}`: must be at least 1"),
        )
    })?;
    let cooldown = positive_ms(
        name,
        "mcp.upstreams.breaker.cooldown_ms",
        file.cooldown_ms.unwrap_or(5_000),
    )?;
    let max_cooldown = match file.max_cooldown_ms {
        None => cooldown.max(Duration::from_secs(60)),
        Some(ms) if Duration::from_millis(ms) < cooldown => {
            return Err(bad(
                "mcp.upstreams.breaker.max_cooldown_ms",
                format!("`{name}`: must be at least cooldown_ms"),
            ));
        }
        Some(ms) => Duration::from_millis(ms),
    };
    Ok(BreakerConfig::new(failures, cooldown).with_max_cooldown(max_cooldown))
}

/// `retry = { percent, min_per_sec }`, each optional (defaults: 20%, 10 a second).
fn retry(name: &str, file: Option<FileRetry>) -> Result<RetryConfig, ConfigError> {
    let default = RetryConfig::default();
    let Some(file) = file else { return Ok(default) };
    let percent = file.percent.unwrap_or(default.percent);
    if percent > 1000 {
        return Err(bad(
            "mcp.upstreams.retry.percent",
            format!("`{name}`: must be at most 1000"),
        ));
    }
    Ok(RetryConfig {
        percent,
        min_per_sec: file.min_per_sec.unwrap_or(default.min_per_sec),
    })
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
