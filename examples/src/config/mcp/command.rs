//! A `command = "..."` upstream: a server the gateway runs as a child process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::upstreams::{FileUpstream, positive_ms};
use super::{ConfigError, bad};

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

/// A name that can be an environment variable's.
fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

/// The command target of upstream `name`, its keys taken out of `u`.
pub(super) fn target(
    name: &str,
    command: String,
    u: &mut FileUpstream,
) -> Result<CommandTarget, ConfigError> {
    if u.token_env.is_some() {
        return Err(bad(
            "mcp.upstreams.token_env",
            format!(
                "`{name}`: a bearer token is for url upstreams; pass a stdio server's \
                 credentials with env_from"
            ),
        ));
    }
    if command.is_empty() {
        return Err(bad(
            "mcp.upstreams.command",
            format!("`{name}`: the command is empty"),
        ));
    }
    let env = u.env.take().unwrap_or_default();
    let env_from = u.env_from.take().unwrap_or_default();
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
    Ok(CommandTarget {
        command,
        args: u.args.take().unwrap_or_default(),
        env,
        env_from,
        cwd: u.cwd.take(),
        max_queued,
        stall_timeout: positive_ms(
            name,
            "mcp.upstreams.stall_timeout_ms",
            u.stall_timeout_ms.unwrap_or(10_000),
        )?,
    })
}
