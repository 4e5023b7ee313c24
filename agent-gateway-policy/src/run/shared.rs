//! What the run layer shares with every service it wraps, and the resolution of a call's run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use agent_gateway_core::run::RUN_BUDGET_HEADER;
use agent_gateway_core::store::SharedStore;
use agent_gateway_core::{Action, AgentRequest, Denied, RunId, SharedClock};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use super::limits::RunLimits;
use super::loops::Loops;
use super::resolve::RunSource;
use super::token::{Hop, HopError, HopKeys};

/// How long a run's counters live after their first use, by default: one day, longer than any
/// agent run the gateway expects, and short enough that abandoned runs do not pile up.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(86_400);

/// How long a budget header is valid after the gateway signs it, by default: long enough for
/// a sub-agent to work through a long task, short enough that a leaked header soon expires.
pub const DEFAULT_HEADER_TTL: Duration = Duration::from_secs(600);

/// Where a call stands in its run: how deep, and the verified budget header it came with.
/// The run layer puts it in the request's extensions, next to the [`RunId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunScope {
    /// The hop depth: 0 for a run's first agent.
    pub depth: u32,
    /// The verified budget header, for a call made by a sub-agent.
    pub hop: Option<Arc<Hop>>,
}

/// What the layer counts, for metrics.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) loop_warnings: AtomicU64,
    pub(super) loop_blocks: AtomicU64,
    pub(super) fail_open: AtomicU64,
    pub(super) charge_failures: AtomicU64,
}

/// The layer's configuration and state.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) store: SharedStore,
    pub(super) clock: SharedClock,
    pub(super) limits: RunLimits,
    pub(super) callers: HashMap<String, RunLimits>,
    pub(super) agents: HashSet<String>,
    pub(super) sources: Vec<RunSource>,
    pub(super) mint: bool,
    pub(super) keys: Option<HopKeys>,
    pub(super) header_ttl: Duration,
    pub(super) state_ttl: Duration,
    pub(super) loops: Option<Loops>,
    pub(super) fail_open: bool,
    pub(super) counters: Arc<Counters>,
}

/// A random id of `bytes` bytes, base64url.
pub(super) fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system RNG does not fail on supported platforms; an all-zero id would still be
    // valid, only not unique.
    let _ = SystemRandom::new().fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

impl Shared {
    /// The caller's own limits: its override, else the defaults.
    pub(super) fn own_limits(&self, req: &dyn AgentRequest) -> RunLimits {
        req.caller()
            .and_then(|c| self.callers.get(c.subject()))
            .copied()
            .unwrap_or(self.limits)
    }

    /// Finds the run of `req`, records it on the request ([`RunId`] and [`RunScope`]), and
    /// removes the inbound budget header (the run layer signs a fresh one for the next hop).
    /// Does nothing if the request was resolved already.
    pub(super) fn resolve(&self, req: &mut dyn AgentRequest) -> Result<(), Denied> {
        if req.extensions().get::<RunScope>().is_some() {
            return Ok(());
        }
        let header = req.headers_mut().remove(RUN_BUDGET_HEADER);
        let (run, scope) = match header {
            Some(value) => {
                let hop = self.verify(value.to_str().map_err(|_| HopError::Malformed))?;
                let run = hop
                    .run_id()
                    .ok_or_else(|| header_denied(HopError::Malformed))?;
                let depth = hop.depth;
                let hop = Some(Arc::new(hop));
                (run, RunScope { depth, hop })
            }
            None => {
                let agent = req
                    .caller()
                    .is_some_and(|c| self.agents.contains(c.subject()));
                if agent {
                    return Err(Denied::forbidden("run budget header required")
                        .with_rule("run.header_missing"));
                }
                let named = self.sources.iter().find_map(|s| s.resolve(&*req));
                let run = match named {
                    Some(run) => run,
                    None if self.mint && counts(req.action()) => {
                        RunId::new(format!("run-{}", random_id(12)))
                            .map_err(|_| Denied::bad_request("invalid run id"))?
                    }
                    None => return Ok(()),
                };
                (
                    run,
                    RunScope {
                        depth: 0,
                        hop: None,
                    },
                )
            }
        };
        req.set_run_id(run);
        req.extensions_mut().insert(scope);
        Ok(())
    }

    fn verify(&self, value: Result<&str, HopError>) -> Result<Hop, Denied> {
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| header_denied(HopError::UnknownKey))?;
        let hop = keys.verify(value.map_err(header_denied)?, self.clock.wall());
        hop.map_err(header_denied)
    }
}

/// Only calls that are steps mint a run: a listing or a ping is not the start of one.
fn counts(action: Action) -> bool {
    super::limits::counts_as_step(action)
}

fn header_denied(err: HopError) -> Denied {
    tracing::debug!(error = %err, "run: budget header refused");
    Denied::forbidden(err.to_string()).with_rule("run.header")
}
