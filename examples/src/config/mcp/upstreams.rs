//! One `[[mcp.upstreams]]` entry: where the server is and how it is reached.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_mcp::connector::{DEFAULT_CLIENT_SESSION_IDLE, DEFAULT_MAX_CLIENT_SESSIONS};
use serde::Deserialize;

use super::command::{self, CommandTarget};
use super::pool::{FileBreaker, FileRetry, PoolTarget, breaker, parse_urls, retry};
use super::{ConfigError, bad};

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
    /// Per-client sessions of a command or `transport = "sse"` upstream.
    pub client_sessions: ClientSessions,
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

/// How a stdio or legacy SSE upstream keeps its sessions (a child process, a stream) for
/// clients: each legacy client session, or else each caller, has one of its own, so that what
/// the server sends outside a call and what it asks of a client reaches that client only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientSessions {
    /// Whether the server's requests (sampling, elicitation, roots) are relayed to clients:
    /// each legacy client session then has its own child or stream, opened with that client's
    /// capabilities (`relayed_requests`, default true). Off: one per caller, declaring none.
    pub relayed: bool,
    /// The most children or streams for clients at once (`max_client_sessions`, default 32);
    /// past it a client gets a JSON-RPC error naming the limit.
    pub max: usize,
    /// How long one with no call in flight is kept unused (`client_session_idle_secs`,
    /// default 600).
    pub idle: Duration,
}

impl Default for ClientSessions {
    fn default() -> Self {
        ClientSessions {
            relayed: true,
            max: DEFAULT_MAX_CLIENT_SESSIONS,
            idle: DEFAULT_CLIENT_SESSION_IDLE,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileUpstream {
    pub(super) name: String,
    pub(super) url: Option<String>,
    pub(super) urls: Option<Vec<String>>,
    pub(super) breaker: Option<FileBreaker>,
    pub(super) retry: Option<FileRetry>,
    pub(super) attempt_timeout_ms: Option<u64>,
    pub(super) transport: Option<String>,
    pub(super) command: Option<String>,
    #[serde(default)]
    pub(super) demo: bool,
    pub(super) args: Option<Vec<String>>,
    pub(super) env: Option<BTreeMap<String, String>>,
    pub(super) env_from: Option<Vec<String>>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) max_queued_bytes: Option<usize>,
    pub(super) stall_timeout_ms: Option<u64>,
    pub(super) relayed_requests: Option<bool>,
    pub(super) max_client_sessions: Option<usize>,
    pub(super) client_session_idle_secs: Option<u64>,
    pub(super) token_env: Option<String>,
    pub(super) timeout_ms: Option<u64>,
    pub(super) stream_idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub(super) include_tools: Vec<String>,
    #[serde(default)]
    pub(super) exclude_tools: Vec<String>,
    pub(super) prefix: Option<bool>,
}

impl TryFrom<FileUpstream> for McpUpstreamConfig {
    type Error = ConfigError;

    fn try_from(mut u: FileUpstream) -> Result<Self, ConfigError> {
        let name = std::mem::take(&mut u.name);
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
        let applies = u.command.is_some() || sse;
        let sessions = client_sessions(&name, &u, applies)?;
        let target = match (u.url.take(), u.urls.take(), u.command.take(), u.demo) {
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
                breaker: breaker(&name, u.breaker.take())?,
                retry: retry(&name, u.retry.take())?,
                attempt_timeout: positive_ms(
                    &name,
                    "mcp.upstreams.attempt_timeout_ms",
                    u.attempt_timeout_ms.unwrap_or(10_000),
                )?,
            }),
            (None, None, Some(command), false) => {
                McpTarget::Command(command::target(&name, command, &mut u)?)
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
            client_sessions: sessions,
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

pub(super) fn parse_url(
    name: &str,
    key: &'static str,
    url: &str,
) -> Result<http::Uri, ConfigError> {
    url.parse()
        .map_err(|e| bad(key, format!("`{name}`: `{url}` is not a URL ({e})")))
}

pub(super) fn positive_ms(name: &str, key: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        return Err(bad(key, format!("`{name}`: must be at least 1")));
    }
    Ok(Duration::from_millis(ms))
}

/// `relayed_requests`, `max_client_sessions` and `client_session_idle_secs`: for command and
/// `transport = "sse"` upstreams only.
fn client_sessions(
    name: &str,
    u: &FileUpstream,
    applies: bool,
) -> Result<ClientSessions, ConfigError> {
    let given = [
        ("relayed_requests", u.relayed_requests.is_some()),
        ("max_client_sessions", u.max_client_sessions.is_some()),
        (
            "client_session_idle_secs",
            u.client_session_idle_secs.is_some(),
        ),
    ];
    if !applies && let Some((key, _)) = given.iter().find(|(_, g)| *g) {
        return Err(bad(
            "mcp.upstreams",
            format!("`{name}`: `{key}` is for command and transport = \"sse\" upstreams"),
        ));
    }
    let default = ClientSessions::default();
    let max = u.max_client_sessions.unwrap_or(default.max);
    if max == 0 {
        return Err(bad(
            "mcp.upstreams.max_client_sessions",
            format!("`{name}`: must be at least 1"),
        ));
    }
    let idle = match u.client_session_idle_secs {
        None => default.idle,
        Some(0) => {
            return Err(bad(
                "mcp.upstreams.client_session_idle_secs",
                format!("`{name}`: must be at least 1"),
            ));
        }
        Some(s) => Duration::from_secs(s),
    };
    Ok(ClientSessions {
        relayed: u.relayed_requests.unwrap_or(default.relayed),
        max,
        idle,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::ClientSessions;
    use crate::config::Config;

    fn upstreams(text: &str) -> Result<Vec<super::McpUpstreamConfig>, String> {
        Config::from_toml_str(&format!("[mcp]\n{text}"))
            .map(|c| c.mcp.unwrap().upstreams)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn command_and_sse_upstreams_keep_bounded_client_sessions() {
        let ups = upstreams(
            "[[mcp.upstreams]]\nname = \"fs\"\ncommand = \"srv\"\n\
             [[mcp.upstreams]]\nname = \"old\"\nurl = \"http://a/sse\"\ntransport = \"sse\"\n\
             relayed_requests = false\nmax_client_sessions = 4\nclient_session_idle_secs = 30\n",
        )
        .unwrap();
        assert_eq!(ups[0].client_sessions, ClientSessions::default());
        assert!(ups[0].client_sessions.relayed, "relayed by default");
        assert_eq!(ups[0].client_sessions.max, 32);
        let old = ups[1].client_sessions;
        assert!(!old.relayed);
        assert_eq!((old.max, old.idle), (4, Duration::from_secs(30)));
    }

    #[test]
    fn client_session_mistakes_name_the_upstream_and_key() {
        for (text, key) in [
            (
                "name = \"h\"\nurl = \"http://a/mcp\"\nmax_client_sessions = 2\n",
                "`max_client_sessions` is for command",
            ),
            (
                "name = \"d\"\ndemo = true\nrelayed_requests = true\n",
                "`relayed_requests`",
            ),
            (
                "name = \"z\"\ncommand = \"srv\"\nmax_client_sessions = 0\n",
                "mcp.upstreams.max_client_sessions",
            ),
            (
                "name = \"i\"\ncommand = \"srv\"\nclient_session_idle_secs = 0\n",
                "mcp.upstreams.client_session_idle_secs",
            ),
            (
                "name = \"u\"\ncommand = \"srv\"\nclient_sessions = 3\n",
                "unknown field",
            ),
        ] {
            let err = upstreams(&format!("[[mcp.upstreams]]\n{text}")).unwrap_err();
            assert!(err.contains(key), "{key}: {err}");
        }
    }
}
