//! Loop detection within a run: the same tool with the same arguments, the same model request,
//! or an agent hop cycle.

use std::num::NonZeroU64;
use std::time::Duration;

use agent_gateway_core::response::PolicyHeaderName;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The default number of identical calls within [`DEFAULT_LOOP_WINDOW`] that is a loop: an
/// agent retrying a failed call once or twice is normal, five identical calls in a minute is
/// not.
pub const DEFAULT_LOOP_REPEATS: u64 = 5;

/// The default window in which identical calls are counted.
pub const DEFAULT_LOOP_WINDOW: Duration = Duration::from_secs(60);

/// Rule id of a repeated identical tool call.
pub const RULE_REPEATED_TOOL: &str = "run.loop.tool";
/// Rule id of a repeated identical model request.
pub const RULE_REPEATED_MODEL: &str = "run.loop.model";
/// Rule id of an agent hop cycle (A→B→A).
pub const RULE_HOP_CYCLE: &str = "run.loop.hop_cycle";

/// The response header a call that tripped a loop rule in [`LoopMode::Warn`] carries:
/// `agw-run-warning: <rule id>[, <rule id>]`, e.g. `agw-run-warning: run.loop.tool`. It is on
/// the answer of that call only (for a stream, in its head), in every protocol.
pub const RUN_WARNING_HEADER: PolicyHeaderName = PolicyHeaderName::from_static("agw-run-warning");

/// What a detected loop does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoopMode {
    /// Logs it (at `warn`), counts it in
    /// [`RunLayer::loop_warnings`](super::RunLayer::loop_warnings) and in the run's warning
    /// count, names the rule in the call's [`RUN_WARNING_HEADER`] and audit record, and lets
    /// the call through.
    Warn,
    /// Refuses the call, with the rule id of the loop.
    #[default]
    Block,
}

/// Loop detection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loops {
    /// What a detected loop does.
    pub mode: LoopMode,
    /// The Nth identical call within `window` is a loop.
    pub repeats: NonZeroU64,
    /// The window over which identical calls are counted.
    pub window: Duration,
    /// Whether a hop to an agent already on the run's path is a loop.
    pub hop_cycles: bool,
}

impl Default for Loops {
    fn default() -> Self {
        Loops {
            mode: LoopMode::default(),
            repeats: NonZeroU64::new(DEFAULT_LOOP_REPEATS).unwrap_or(NonZeroU64::MIN),
            window: DEFAULT_LOOP_WINDOW,
            hop_cycles: true,
        }
    }
}

/// A canonical hash of a JSON value: object keys sorted, no whitespace, so that two requests
/// with the same content hash the same whatever their key order.
pub fn canonical_hash(value: &Value) -> String {
    let mut hasher = Sha256::new();
    feed(&mut hasher, value);
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn feed(h: &mut Sha256, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                feed(h, &Value::String(k.clone()));
                h.update(b":");
                if let Some(v) = map.get(k) {
                    feed(h, v);
                }
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for v in items {
                feed(h, v);
                h.update(b",");
            }
            h.update(b"]");
        }
        // Scalars: their JSON text is already canonical.
        other => h.update(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_hash(&a), canonical_hash(&b));
        assert_ne!(canonical_hash(&a), canonical_hash(&json!({"b": 2})));
        assert_ne!(
            canonical_hash(&json!([1, 2])),
            canonical_hash(&json!([2, 1]))
        );
    }
}
