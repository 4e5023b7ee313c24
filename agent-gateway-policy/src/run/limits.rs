//! The limits of a run, each optional, and the name of each.

use std::fmt;
use std::time::Duration;

use agent_gateway_core::{Action, Cost};
use serde::{Deserialize, Serialize};

/// Which limit of a run a call hit; its [`as_str`](Self::as_str) names it in the denial's
/// message and rule id (`run.tool_calls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitName {
    /// Every counted call: tool calls, model calls, agent messages, prompts and resources read.
    Steps,
    /// Tool calls.
    ToolCalls,
    /// Model calls.
    ModelCalls,
    /// How many agent hops deep the call is.
    Depth,
    /// Input plus output tokens, reported by responses.
    Tokens,
    /// Cost, reported by responses.
    Cost,
    /// Time since the run started.
    WallTime,
}

impl LimitName {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitName::Steps => "steps",
            LimitName::ToolCalls => "tool_calls",
            LimitName::ModelCalls => "model_calls",
            LimitName::Depth => "depth",
            LimitName::Tokens => "tokens",
            LimitName::Cost => "cost",
            LimitName::WallTime => "wall_time",
        }
    }

    /// The rule id of a denial for this limit: `run.<name>`.
    pub fn rule_id(self) -> String {
        format!("run.{}", self.as_str())
    }
}

impl fmt::Display for LimitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits of one run; each is optional, and `None` does not limit.
///
/// The counted limits (steps, tool and model calls) are checked and counted before a call;
/// tokens and cost are reported when a response ends, so a call is admitted while any is left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    /// Counted calls ([`counts_as_step`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<u64>,
    /// Model calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_calls: Option<u64>,
    /// The deepest hop allowed: 0 is a run's first agent, 1 an agent it called, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// Input plus output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// Cost, in nano-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<u64>,
    /// Wall time from the run's first call, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl RunLimits {
    /// No limit at all.
    pub fn new() -> Self {
        RunLimits::default()
    }

    /// Limits counted calls.
    pub fn with_steps(mut self, n: u64) -> Self {
        self.steps = Some(n);
        self
    }

    /// Limits tool calls.
    pub fn with_tool_calls(mut self, n: u64) -> Self {
        self.tool_calls = Some(n);
        self
    }

    /// Limits model calls.
    pub fn with_model_calls(mut self, n: u64) -> Self {
        self.model_calls = Some(n);
        self
    }

    /// Limits the hop depth.
    pub fn with_depth(mut self, depth: u32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Limits tokens.
    pub fn with_tokens(mut self, n: u64) -> Self {
        self.tokens = Some(n);
        self
    }

    /// Limits cost.
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost.nano_usd());
        self
    }

    /// Limits wall time (millisecond resolution).
    pub fn with_wall_time(mut self, wall: Duration) -> Self {
        self.wall_ms = Some(u64::try_from(wall.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Each limit the stricter of the two: what a sub-agent gets from its own limits and the
    /// remainder it was handed.
    pub fn min(self, other: RunLimits) -> RunLimits {
        RunLimits {
            steps: min_opt(self.steps, other.steps),
            tool_calls: min_opt(self.tool_calls, other.tool_calls),
            model_calls: min_opt(self.model_calls, other.model_calls),
            depth: min_opt(self.depth, other.depth),
            tokens: min_opt(self.tokens, other.tokens),
            cost: min_opt(self.cost, other.cost),
            wall_ms: min_opt(self.wall_ms, other.wall_ms),
        }
    }

    /// The counted limits that `action` uses, with their values.
    pub(crate) fn counted(&self, action: Action) -> Vec<(LimitName, u64)> {
        let mut out = Vec::with_capacity(2);
        if !counts_as_step(action) {
            return out;
        }
        if let Some(n) = self.steps {
            out.push((LimitName::Steps, n));
        }
        match (action, self.tool_calls, self.model_calls) {
            (Action::ToolCall, Some(n), _) => out.push((LimitName::ToolCalls, n)),
            (Action::ModelCall, _, Some(n)) => out.push((LimitName::ModelCalls, n)),
            _ => {}
        }
        out
    }

    /// The value of one counted or reported limit.
    pub(crate) fn get(&self, name: LimitName) -> Option<u64> {
        match name {
            LimitName::Steps => self.steps,
            LimitName::ToolCalls => self.tool_calls,
            LimitName::ModelCalls => self.model_calls,
            LimitName::Depth => self.depth.map(u64::from),
            LimitName::Tokens => self.tokens,
            LimitName::Cost => self.cost,
            LimitName::WallTime => self.wall_ms,
        }
    }

    /// Sets one counted or reported limit.
    pub(crate) fn set(&mut self, name: LimitName, value: u64) {
        match name {
            LimitName::Steps => self.steps = Some(value),
            LimitName::ToolCalls => self.tool_calls = Some(value),
            LimitName::ModelCalls => self.model_calls = Some(value),
            LimitName::Depth => self.depth = Some(u32::try_from(value).unwrap_or(u32::MAX)),
            LimitName::Tokens => self.tokens = Some(value),
            LimitName::Cost => self.cost = Some(value),
            LimitName::WallTime => self.wall_ms = Some(value),
        }
    }
}

/// Whether a call of `action` is a step of its run: tool and model calls, agent messages,
/// prompts and resources read. Listings, discovery, task housekeeping and protocol traffic
/// (initialize, ping) are not, so a client's bookkeeping cannot use up a run.
pub fn counts_as_step(action: Action) -> bool {
    matches!(
        action,
        Action::ToolCall
            | Action::ModelCall
            | Action::AgentMessage
            | Action::GetPrompt
            | Action::ReadResource
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_takes_the_stricter_of_each_and_keeps_one_sided_limits() {
        let own = RunLimits::new().with_steps(10).with_tokens(100);
        let rem = RunLimits::new().with_steps(3).with_tool_calls(2);
        let eff = own.min(rem);
        assert_eq!(eff.steps, Some(3));
        assert_eq!(eff.tool_calls, Some(2));
        assert_eq!(eff.tokens, Some(100));
        assert_eq!(eff.model_calls, None);
    }

    #[test]
    fn counted_limits_follow_the_action() {
        let l = RunLimits::new()
            .with_steps(5)
            .with_tool_calls(2)
            .with_model_calls(1);
        assert_eq!(
            l.counted(Action::ToolCall),
            vec![(LimitName::Steps, 5), (LimitName::ToolCalls, 2)]
        );
        assert_eq!(
            l.counted(Action::ModelCall),
            vec![(LimitName::Steps, 5), (LimitName::ModelCalls, 1)]
        );
        assert!(l.counted(Action::ListTools).is_empty());
        assert_eq!(LimitName::ToolCalls.rule_id(), "run.tool_calls");
    }
}
