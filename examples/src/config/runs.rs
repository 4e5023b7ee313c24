//! The `[runs]` section: run budgets that follow a run across agents, and loop detection.
//!
//! ```toml
//! [runs]
//! tool_calls = 20          # every limit is optional: steps, tool_calls, model_calls,
//! depth = 3                # depth, tokens, cost_usd, wall_time_secs
//! key_id = "k1"            # the budget header's signing key: its id, and the
//! key_env = "AGW_RUN_KEY"  # variable holding it (64 hex digits)
//! agents = ["agent-y"]     # callers refused without a budget header
//! [runs.loops]
//! mode = "block"           # block | warn | off
//! repeats = 5
//! [runs.callers.agent-y]   # a caller's own limits (still capped by the remainder)
//! tool_calls = 100
//! ```

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::time::Duration;

use agent_gateway_core::store::SharedStore;
use agent_gateway_core::{Cost, Secret};
use agent_gateway_policy::run::{
    HopKey, HopKeys, InvalidHopKey, LoopMode, Loops, RunLayer, RunLimits, RunSource,
};
use serde::Deserialize;

use super::ConfigError;

/// Run budgets and loop detection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunsConfig {
    /// The limits of every run.
    pub limits: RunLimits,
    /// Callers' own limits, by subject.
    pub callers: BTreeMap<String, RunLimits>,
    /// Callers (subjects) refused without a valid budget header.
    pub agents: Vec<String>,
    /// Where a run id is found, in order.
    pub sources: Vec<RunSource>,
    /// The signing key's id and the variable holding it; `None` signs with a random key made
    /// at start (one replica only: another replica could not verify its headers).
    pub key: Option<(String, String)>,
    /// The previous key's id and variable, still accepted during a rotation.
    pub previous_key: Option<(String, String)>,
    /// How long a signed budget header is valid.
    pub header_ttl: Duration,
    /// Loop detection; `None` when off.
    pub loops: Option<Loops>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    steps: Option<u64>,
    tool_calls: Option<u64>,
    model_calls: Option<u64>,
    depth: Option<u32>,
    tokens: Option<u64>,
    cost_usd: Option<f64>,
    wall_time_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRuns {
    #[serde(flatten)]
    limits: FileLimits,
    #[serde(default)]
    callers: BTreeMap<String, FileLimits>,
    #[serde(default)]
    agents: Vec<String>,
    sources: Option<Vec<String>>,
    key_id: Option<String>,
    key_env: Option<String>,
    previous_key_id: Option<String>,
    previous_key_env: Option<String>,
    header_ttl_secs: Option<u64>,
    loops: Option<FileLoops>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLoops {
    mode: Option<String>,
    repeats: Option<u64>,
    window_secs: Option<u64>,
    hop_cycles: Option<bool>,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileLimits> for RunLimits {
    type Error = ConfigError;

    fn try_from(f: FileLimits) -> Result<RunLimits, ConfigError> {
        let cost = match f.cost_usd {
            Some(usd) if !(usd.is_finite() && usd >= 0.0) => {
                return Err(bad("runs.cost_usd", "must be a non-negative number"));
            }
            usd => usd.map(|usd| Cost::from_usd(usd).nano_usd()),
        };
        Ok(RunLimits {
            steps: f.steps,
            tool_calls: f.tool_calls,
            model_calls: f.model_calls,
            depth: f.depth,
            tokens: f.tokens,
            cost,
            wall_ms: f.wall_time_secs.map(|s| s.saturating_mul(1_000)),
        })
    }
}

fn key_pair(
    id: Option<String>,
    env: Option<String>,
    key: &'static str,
) -> Result<Option<(String, String)>, ConfigError> {
    match (id, env) {
        (Some(id), Some(env)) => Ok(Some((id, env))),
        (None, None) => Ok(None),
        _ => Err(bad(
            key,
            "give both the key id and the variable holding the key",
        )),
    }
}

impl TryFrom<FileRuns> for RunsConfig {
    type Error = ConfigError;

    fn try_from(f: FileRuns) -> Result<RunsConfig, ConfigError> {
        let sources = match f.sources {
            None => RunSource::defaults(),
            Some(names) => names
                .iter()
                .map(|n| match n.as_str() {
                    "header" => Ok(RunSource::defaults().remove(0)),
                    "mcp_session" => Ok(RunSource::McpSession),
                    "a2a_context" => Ok(RunSource::A2aContext),
                    "trace" => Ok(RunSource::TraceParent),
                    other => Err(bad(
                        "runs.sources",
                        format!(
                            "unknown source `{other}` (header, mcp_session, a2a_context, trace)"
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let loops = match f.loops {
            None => Some(Loops::default()),
            Some(l) => {
                let mode = match l.mode.as_deref() {
                    None | Some("block") => Some(LoopMode::Block),
                    Some("warn") => Some(LoopMode::Warn),
                    Some("off") => None,
                    Some(other) => {
                        return Err(bad(
                            "runs.loops.mode",
                            format!("`{other}`: block, warn or off"),
                        ));
                    }
                };
                let defaults = Loops::default();
                let repeats = match l.repeats {
                    None => defaults.repeats,
                    Some(n) => NonZeroU64::new(n)
                        .ok_or_else(|| bad("runs.loops.repeats", "must be at least 1"))?,
                };
                mode.map(|mode| Loops {
                    mode,
                    repeats,
                    window: l.window_secs.map_or(defaults.window, Duration::from_secs),
                    hop_cycles: l.hop_cycles.unwrap_or(defaults.hop_cycles),
                })
            }
        };
        Ok(RunsConfig {
            limits: f.limits.try_into()?,
            callers: f
                .callers
                .into_iter()
                .map(|(k, v)| Ok((k, RunLimits::try_from(v)?)))
                .collect::<Result<_, ConfigError>>()?,
            agents: f.agents,
            sources,
            key: key_pair(f.key_id, f.key_env, "runs.key_env")?,
            previous_key: key_pair(
                f.previous_key_id,
                f.previous_key_env,
                "runs.previous_key_env",
            )?,
            header_ttl: f.header_ttl_secs.map_or(
                agent_gateway_policy::run::DEFAULT_HEADER_TTL,
                Duration::from_secs,
            ),
            loops,
        })
    }
}

/// A run layer configuration that cannot be built: a key variable missing or malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunsSetupError {
    /// The variable that should hold a key is not set.
    #[error("`{0}` is not set")]
    Unset(String),
    /// The variable does not hold 64 hex digits.
    #[error("`{0}` must hold 64 hex digits (32 bytes)")]
    NotHex(String),
    /// The key id is invalid.
    #[error(transparent)]
    Key(#[from] InvalidHopKey),
}

fn hop_key((id, var): &(String, String)) -> Result<HopKey, RunsSetupError> {
    let hex = std::env::var(var).map_err(|_| RunsSetupError::Unset(var.clone()))?;
    let bytes =
        crate::mcp::parse_hex_key(&hex).ok_or_else(|| RunsSetupError::NotHex(var.clone()))?;
    Ok(HopKey::new(id.clone(), Secret::new(bytes.to_vec()))?)
}

impl RunsConfig {
    /// The run layer, counting in `store`; `fail_open` as for the other counters.
    pub fn layer(&self, store: &SharedStore, fail_open: bool) -> Result<RunLayer, RunsSetupError> {
        let current = match &self.key {
            Some(pair) => hop_key(pair)?,
            None => {
                let mut bytes = vec![0u8; 32];
                getrandom(&mut bytes);
                HopKey::new("local", Secret::new(bytes))?
            }
        };
        let mut keys = HopKeys::new(current);
        if let Some(pair) = &self.previous_key {
            keys = keys.with_previous(hop_key(pair)?);
        }
        let mut layer = RunLayer::new(store.clone())
            .with_limits(self.limits)
            .with_sources(self.sources.clone())
            .with_keys(keys)
            .with_header_ttl(self.header_ttl)
            .with_loops(self.loops);
        for (subject, limits) in &self.callers {
            layer = layer.with_caller_limits(subject.clone(), *limits);
        }
        for agent in &self.agents {
            layer = layer.with_agent(agent.clone());
        }
        if fail_open {
            layer = layer.fail_open();
        }
        Ok(layer)
    }
}

/// Fills `buf` from the operating system's random source.
fn getrandom(buf: &mut [u8]) {
    use rand::TryRngCore;
    // The OS RNG does not fail on supported platforms; a zeroed key would still only sign
    // headers this process alone accepts.
    let _ = rand::rngs::OsRng.try_fill_bytes(buf);
}
