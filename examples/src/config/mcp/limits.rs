//! The `[mcp.limits]` table: the bounds of the MCP front's session tables, each key
//! defaulting to the MCP crate's default.

use agent_gateway_mcp::session::SessionLimits;
use serde::Deserialize;

use super::{ConfigError, bad};

/// `[mcp.limits]` as written; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct FileLimits {
    subscription_sessions: Option<usize>,
    subscription_sessions_per_caller: Option<usize>,
    subscriptions_per_session: Option<usize>,
    resumable_streams: Option<usize>,
    resumable_streams_per_caller: Option<usize>,
    resumable_bytes: Option<usize>,
    resumable_bytes_per_caller: Option<usize>,
    pending: Option<usize>,
    pending_per_caller: Option<usize>,
    ended_sessions: Option<usize>,
    ended_sessions_per_caller: Option<usize>,
    log_levels: Option<usize>,
    log_levels_per_caller: Option<usize>,
}

/// One bound in all and its per-caller share, as keys and values: each given or `default`,
/// each at least 1, the share at most the total.
fn pair(
    (total_key, total): (&'static str, Option<usize>),
    (share_key, share): (&'static str, Option<usize>),
    default: (usize, usize),
) -> Result<(usize, usize), ConfigError> {
    let total = at_least_one(total_key, total.unwrap_or(default.0))?;
    let share = at_least_one(share_key, share.unwrap_or(default.1))?;
    if share > total {
        let (_, total_name) = total_key.rsplit_once('.').unwrap_or(("", total_key));
        return Err(bad(
            share_key,
            format!(
                "{share} is more than `{total_name}` ({total}): a caller's share is at most the whole"
            ),
        ));
    }
    Ok((total, share))
}

fn at_least_one(key: &'static str, value: usize) -> Result<usize, ConfigError> {
    if value == 0 {
        return Err(bad(key, "must be at least 1"));
    }
    Ok(value)
}

impl TryFrom<FileLimits> for SessionLimits {
    type Error = ConfigError;

    fn try_from(f: FileLimits) -> Result<Self, ConfigError> {
        let d = SessionLimits::default();
        let (sessions, per_caller, uris) = d.subscriptions();
        let (sessions, per_caller) = pair(
            ("mcp.limits.subscription_sessions", f.subscription_sessions),
            (
                "mcp.limits.subscription_sessions_per_caller",
                f.subscription_sessions_per_caller,
            ),
            (sessions, per_caller),
        )?;
        let uris = at_least_one(
            "mcp.limits.subscriptions_per_session",
            f.subscriptions_per_session.unwrap_or(uris),
        )?;
        let (streams, streams_per_caller, bytes, bytes_per_caller) = d.resumable();
        let (streams, streams_per_caller) = pair(
            ("mcp.limits.resumable_streams", f.resumable_streams),
            (
                "mcp.limits.resumable_streams_per_caller",
                f.resumable_streams_per_caller,
            ),
            (streams, streams_per_caller),
        )?;
        let (bytes, bytes_per_caller) = pair(
            ("mcp.limits.resumable_bytes", f.resumable_bytes),
            (
                "mcp.limits.resumable_bytes_per_caller",
                f.resumable_bytes_per_caller,
            ),
            (bytes, bytes_per_caller),
        )?;
        let pending = pair(
            ("mcp.limits.pending", f.pending),
            ("mcp.limits.pending_per_caller", f.pending_per_caller),
            d.pending(),
        )?;
        let ended = pair(
            ("mcp.limits.ended_sessions", f.ended_sessions),
            (
                "mcp.limits.ended_sessions_per_caller",
                f.ended_sessions_per_caller,
            ),
            d.revoked(),
        )?;
        let log_levels = pair(
            ("mcp.limits.log_levels", f.log_levels),
            ("mcp.limits.log_levels_per_caller", f.log_levels_per_caller),
            d.log_levels(),
        )?;
        Ok(d.with_subscriptions(sessions, per_caller, uris)
            .with_resumable(streams, streams_per_caller, bytes, bytes_per_caller)
            .with_pending(pending.0, pending.1)
            .with_revoked(ended.0, ended.1)
            .with_log_levels(log_levels.0, log_levels.1))
    }
}

#[cfg(test)]
mod tests {
    use agent_gateway_mcp::session::SessionLimits;

    use crate::config::Config;

    fn limits(table: &str) -> Result<SessionLimits, String> {
        Config::from_toml_str(&format!("[mcp]\n[mcp.limits]\n{table}"))
            .map(|c| c.mcp.unwrap().limits)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn without_the_table_or_its_keys_the_crate_defaults_hold() {
        let c = Config::from_toml_str("[mcp]\n").unwrap();
        assert_eq!(c.mcp.unwrap().limits, SessionLimits::default());
        assert_eq!(limits("").unwrap(), SessionLimits::default());
        let embedded = Config::embedded_default().unwrap();
        assert_eq!(embedded.mcp.unwrap().limits, SessionLimits::default());
    }

    #[test]
    fn the_defaults_shown_in_the_readme_and_the_default_file_are_the_defaults() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("[mcp.limits]")
            .expect("the README shows [mcp.limits]");
        let table = &readme[start + "[mcp.limits]".len()..];
        let table = &table[..table.find("\n\n").expect("the table ends")];
        assert!(table.contains("log_levels_per_caller"), "{table}");
        assert_eq!(limits(table).unwrap(), SessionLimits::default());

        let file = crate::config::EMBEDDED_DEFAULT;
        let start = file
            .find("# [mcp.limits]\n")
            .expect("the default file shows it");
        let table: String = file[start + "# [mcp.limits]\n".len()..]
            .lines()
            .map_while(|l| l.strip_prefix("# "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(table.lines().count(), 13, "{table}");
        assert_eq!(limits(&table).unwrap(), SessionLimits::default());
    }

    #[test]
    fn every_key_sets_its_bound() {
        let got = limits(
            "subscription_sessions = 100\nsubscription_sessions_per_caller = 10\n\
             subscriptions_per_session = 8\nresumable_streams = 50\n\
             resumable_streams_per_caller = 5\nresumable_bytes = 1048576\n\
             resumable_bytes_per_caller = 65536\npending = 40\npending_per_caller = 4\n\
             ended_sessions = 30\nended_sessions_per_caller = 3\nlog_levels = 20\n\
             log_levels_per_caller = 2\n",
        )
        .unwrap();
        let want = SessionLimits::default()
            .with_subscriptions(100, 10, 8)
            .with_resumable(50, 5, 1 << 20, 64 << 10)
            .with_pending(40, 4)
            .with_revoked(30, 3)
            .with_log_levels(20, 2);
        assert_eq!(got, want);
        // One key alone changes only its bound.
        let d = SessionLimits::default();
        let (sessions, _, uris) = d.subscriptions();
        assert_eq!(
            limits("subscription_sessions_per_caller = 1\n").unwrap(),
            d.with_subscriptions(sessions, 1, uris)
        );
    }

    #[test]
    fn zero_or_a_share_above_its_total_is_refused_naming_the_key() {
        for (table, key) in [
            (
                "subscription_sessions = 0\n",
                "mcp.limits.subscription_sessions",
            ),
            (
                "subscriptions_per_session = 0\n",
                "mcp.limits.subscriptions_per_session",
            ),
            ("pending_per_caller = 0\n", "mcp.limits.pending_per_caller"),
            ("resumable_bytes = 0\n", "mcp.limits.resumable_bytes"),
            (
                "log_levels = 10\nlog_levels_per_caller = 11\n",
                "mcp.limits.log_levels_per_caller",
            ),
            // Below the default share: the share must be lowered too.
            (
                "ended_sessions = 10\n",
                "mcp.limits.ended_sessions_per_caller",
            ),
            (
                "resumable_streams = 4\nresumable_streams_per_caller = 5\n",
                "mcp.limits.resumable_streams_per_caller",
            ),
            (
                "resumable_bytes_per_caller = 1099511627776\n",
                "mcp.limits.resumable_bytes_per_caller",
            ),
            (
                "subscription_sessions = 1\nsubscription_sessions_per_caller = 2\n",
                "mcp.limits.subscription_sessions_per_caller",
            ),
            ("pending = 1\n", "mcp.limits.pending_per_caller"),
        ] {
            let err = limits(table).unwrap_err();
            assert!(err.contains(&format!("`{key}`")), "{table}: {err}");
        }
        let err = limits("subscription_sessions = 1\nsubscription_sessions_per_caller = 2\n")
            .unwrap_err();
        assert!(err.contains("`subscription_sessions` (1)"), "{err}");
        let err = limits("subscriptions = 5\n").unwrap_err();
        assert!(
            err.contains("subscriptions"),
            "an unknown key is refused: {err}"
        );
    }
}
