//! Tool-definition pinning: a digest of each tool's name, description and schemas, recorded at
//! first sight or pinned in config, so that an upstream that changes a tool after it was
//! approved (the "rug pull": a harmless description swapped for one that instructs the model)
//! is noticed.
//!
//! A change is flagged at once: a warn log naming the tool and both digests, and the
//! [`changes`](Pins::changes) counter. In [`PinMode::Flag`] the listing that shows a changed
//! tool, and every call of that tool until the change is approved, answer with the response
//! header [`GUARDRAIL_WARNING_HEADER`] naming [`PIN_RULE`] (`agw-guardrail-warning: tool-pin`),
//! and their audit records list the rule in `warnings`. In [`PinMode::Block`] the changed tool is also left out
//! of listings (its new description never reaches the model) and its calls are refused with
//! the rule [`PIN_RULE`] until the change is approved, by config ([`Pins::with_pin`]) or through
//! [`Pins::approve`] (which the [admin router](super::admin) exposes).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use agent_gateway_core::response::{PolicyHeaderName, PolicyHeaders};
use agent_gateway_core::{Action, AgentRequest, AgentResponse};
use serde_json::{Map, Value};

use super::json::{digest, hex};
use super::verdict::{Exchange, Guardrail, Verdict};

/// The rule id of a call refused because its tool changed since it was approved.
pub const PIN_RULE: &str = "tool-pin";

/// The response header naming the guardrail rules that flagged a call without blocking it
/// (`agw-guardrail-warning: tool-pin`).
pub const GUARDRAIL_WARNING_HEADER: PolicyHeaderName =
    PolicyHeaderName::from_static("agw-guardrail-warning");

/// How many tools are pinned at most by default; like the schema table, a bound against an
/// upstream listing without end. Tools seen beyond it are not pinned (and warned about).
pub const MAX_PINNED_TOOLS: usize = 4096;

/// What a change of a pinned tool does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinMode {
    /// Flag it (log, counter) and let the tool be listed and called.
    Flag,
    /// Flag it, hide the tool from listings and refuse its calls until approved (the default).
    #[default]
    Block,
}

/// The SHA-256 digest of a tool's definition (name, description, input and output schemas,
/// canonical JSON); shown and parsed as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ToolDigest([u8; 32]);

impl ToolDigest {
    /// The digest of `tool`, a `tools/list` item, as named `name`.
    pub fn of(name: &str, tool: &Value) -> Self {
        let mut pinned = Map::new();
        pinned.insert("name".into(), Value::String(name.to_owned()));
        for key in ["description", "inputSchema", "outputSchema"] {
            if let Some(v) = tool.get(key) {
                pinned.insert(key.into(), v.clone());
            }
        }
        ToolDigest(digest(&Value::Object(pinned)))
    }
}

impl fmt::Display for ToolDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for ToolDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ToolDigest({self})")
    }
}

impl FromStr for ToolDigest {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PinError::BadDigest;
        if s.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(ToolDigest(out))
    }
}

/// Why a pin could not be set or approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Not 64 hex digits.
    #[error("a tool digest is 64 hex digits")]
    BadDigest,
    /// No tool of that name is pinned or seen.
    #[error("no such tool")]
    UnknownTool,
    /// The digest approved is not the one seen last: the tool changed again since it was
    /// reviewed.
    #[error("the tool changed again since that digest; review it again")]
    Stale,
}

/// One tool's pin, as [`Pins::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinStatus {
    /// The tool's name, as clients call it.
    pub tool: String,
    /// The approved digest.
    pub approved: ToolDigest,
    /// The digest of the definition seen last, if it was seen.
    pub seen: Option<ToolDigest>,
}

impl PinStatus {
    /// Whether the tool seen last differs from the approved one.
    pub fn changed(&self) -> bool {
        self.seen.is_some_and(|seen| seen != self.approved)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    approved: ToolDigest,
    seen: Option<ToolDigest>,
}

#[derive(Debug)]
struct State {
    mode: PinMode,
    max_tools: usize,
    table: RwLock<HashMap<String, Entry>>,
    changes: AtomicU64,
}

/// The pinned tool definitions, and the guardrail enforcing them; see the
/// [guard module](super). Clones share the table, so the admin router and the layer see the
/// same pins.
#[derive(Debug, Clone)]
pub struct Pins {
    state: Arc<State>,
}

impl Default for Pins {
    fn default() -> Self {
        Pins::new(PinMode::default())
    }
}

impl Pins {
    /// An empty table in `mode`: every tool is pinned at first sight.
    pub fn new(mode: PinMode) -> Self {
        Pins::build(mode, MAX_PINNED_TOOLS, HashMap::new())
    }

    fn build(mode: PinMode, max_tools: usize, table: HashMap<String, Entry>) -> Self {
        Pins {
            state: Arc::new(State {
                mode,
                max_tools,
                table: RwLock::new(table),
                changes: AtomicU64::new(0),
            }),
        }
    }

    /// Pins `tool` to `digest` (from config): a listing showing anything else is a change.
    pub fn with_pin(self, tool: impl Into<String>, digest: ToolDigest) -> Self {
        self.write().insert(
            tool.into(),
            Entry {
                approved: digest,
                seen: None,
            },
        );
        self
    }

    /// Pins at most `n` tools (default [`MAX_PINNED_TOOLS`]).
    pub fn with_max_tools(self, n: usize) -> Self {
        let table = self.write().clone();
        Pins::build(self.state.mode, n, table)
    }

    /// The mode.
    pub fn mode(&self) -> PinMode {
        self.state.mode
    }

    /// How many changes were seen (each new definition of a tool counts once): the metric.
    pub fn changes(&self) -> u64 {
        self.state.changes.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.state
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Entry>> {
        self.state
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the definition of the tool `name` seen in a listing; returns whether it differs
    /// from the approved one.
    pub fn observe(&self, name: &str, tool: &Value) -> bool {
        let now = ToolDigest::of(name, tool);
        if let Some(entry) = self.read().get(name)
            && entry.seen == Some(now)
        {
            return entry.approved != now;
        }
        let mut table = self.write();
        let full = table.len() >= self.state.max_tools;
        let entry = match table.get_mut(name) {
            Some(entry) => entry,
            None if full => {
                tracing::warn!(tool = name, "pins: table full, tool not pinned");
                return false;
            }
            None => table.entry(name.to_owned()).or_insert(Entry {
                approved: now,
                seen: None,
            }),
        };
        let before = entry.seen.replace(now);
        let changed = entry.approved != now;
        if changed && before != Some(now) {
            self.state.changes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                tool = name,
                approved = %entry.approved,
                seen = %now,
                mode = ?self.state.mode,
                "pins: tool definition changed since it was approved"
            );
        }
        changed
    }

    /// Whether calls to `name` are refused now: block mode, and its definition changed.
    pub fn is_blocked(&self, name: &str) -> bool {
        self.state.mode == PinMode::Block && self.is_changed(name)
    }

    /// Whether the definition of `name` seen last differs from the approved one.
    fn is_changed(&self, name: &str) -> bool {
        self.read()
            .get(name)
            .is_some_and(|e| e.seen.is_some_and(|s| s != e.approved))
    }

    /// Approves the definition of `name` seen last; with `expected`, only if that is the one
    /// seen last (what the operator reviewed). Returns the digest now approved.
    pub fn approve(
        &self,
        name: &str,
        expected: Option<ToolDigest>,
    ) -> Result<ToolDigest, PinError> {
        let mut table = self.write();
        let entry = table.get_mut(name).ok_or(PinError::UnknownTool)?;
        let seen = entry.seen.unwrap_or(entry.approved);
        if expected.is_some_and(|e| e != seen) {
            return Err(PinError::Stale);
        }
        entry.approved = seen;
        tracing::info!(tool = name, approved = %seen, "pins: tool definition approved");
        Ok(seen)
    }

    /// Every pin, by tool name.
    pub fn status(&self) -> Vec<PinStatus> {
        let mut all: Vec<PinStatus> = self
            .read()
            .iter()
            .map(|(tool, e)| PinStatus {
                tool: tool.clone(),
                approved: e.approved,
                seen: e.seen,
            })
            .collect();
        all.sort_by(|a, b| a.tool.cmp(&b.tool));
        all
    }
}

impl Guardrail for Pins {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        if request.protocol() != "mcp" || request.action() != Action::ToolCall {
            return Verdict::Pass;
        }
        let Some(tool) = request.target() else {
            return Verdict::Pass;
        };
        if !self.is_changed(tool) {
            return Verdict::Pass;
        }
        if self.state.mode == PinMode::Block {
            return Verdict::block_with(
                PIN_RULE,
                format!("tool {tool} changed since it was approved; an operator must approve it"),
            );
        }
        if let Some(added) = request.extensions().get::<PolicyHeaders>() {
            added.warn(&GUARDRAIL_WARNING_HEADER, PIN_RULE);
        }
        Verdict::Pass
    }

    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if exchange.protocol() != "mcp" || exchange.action() != Action::ListTools {
            return Verdict::Pass;
        }
        let block = self.state.mode == PinMode::Block;
        let mut flagged = false;
        response.retain_items(&mut |item| {
            let changed = item.action == Action::ToolCall && self.observe(item.name, item.value);
            flagged |= changed;
            !(changed && block)
        });
        if let Some(added) = exchange.policy_headers().filter(|_| flagged && !block) {
            added.warn(&GUARDRAIL_WARNING_HEADER, PIN_RULE);
        }
        Verdict::Pass
    }

    /// Only MCP tool listings are looked at: they carry the definitions to pin.
    fn watches(&self, request: &dyn AgentRequest) -> bool {
        request.protocol() == "mcp" && request.action() == Action::ListTools
    }
}
