//! What kind of thing a request asks for, independent of the protocol that carried it.
//!
//! ```
//! use agent_gateway_core::Action;
//!
//! assert_eq!(Action::ToolCall.as_str(), "tool_call");
//! assert!(Action::ListTools.is_listing());
//! assert!(!Action::ModelCall.is_listing());
//! assert_eq!("model_call".parse::<Action>(), Ok(Action::ModelCall));
//! ```

use std::fmt;
use std::str::FromStr;

/// The kind of action a request performs.
///
/// Policy rules name these (`action == "tool_call"`), quotas key on them and audit records them.
/// Listing actions return collections that a policy may filter per caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Calling a tool (MCP `tools/call`).
    ToolCall,
    /// Listing tools (MCP `tools/list`).
    ListTools,
    /// Getting a prompt (MCP `prompts/get`).
    GetPrompt,
    /// Listing prompts (MCP `prompts/list`).
    ListPrompts,
    /// Reading a resource (MCP `resources/read`).
    ReadResource,
    /// Listing resources or resource templates (MCP `resources/list`, `resources/templates/list`).
    ListResources,
    /// Sending a message to an agent (A2A `SendMessage`, `SendStreamingMessage`).
    AgentMessage,
    /// Operating on an existing task (A2A get, list, cancel, subscribe, push config).
    TaskOperation,
    /// Discovering agents or reading an agent card.
    Discovery,
    /// Reading an agent's extended card (A2A `GetExtendedAgentCard`). It is fetched with the
    /// gateway's own credential to the agent, so it may show more than the public card: a
    /// rule of its own, apart from [`Discovery`](Action::Discovery), decides who sees it.
    ExtendedCard,
    /// Calling a model (chat completions, responses, messages).
    ModelCall,
    /// Listing models (`GET /v1/models`).
    ListModels,
    /// Session and protocol housekeeping (initialize, ping, notifications).
    Protocol,
    /// Anything else a protocol carries.
    Other,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 14] = [
        Action::ToolCall,
        Action::ListTools,
        Action::GetPrompt,
        Action::ListPrompts,
        Action::ReadResource,
        Action::ListResources,
        Action::AgentMessage,
        Action::TaskOperation,
        Action::Discovery,
        Action::ExtendedCard,
        Action::ModelCall,
        Action::ListModels,
        Action::Protocol,
        Action::Other,
    ];

    /// The stable snake_case name used in policy rules, metrics and audit records.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ToolCall => "tool_call",
            Action::ListTools => "list_tools",
            Action::GetPrompt => "get_prompt",
            Action::ListPrompts => "list_prompts",
            Action::ReadResource => "read_resource",
            Action::ListResources => "list_resources",
            Action::AgentMessage => "agent_message",
            Action::TaskOperation => "task_operation",
            Action::Discovery => "discovery",
            Action::ExtendedCard => "extended_card",
            Action::ModelCall => "model_call",
            Action::ListModels => "list_models",
            Action::Protocol => "protocol",
            Action::Other => "other",
        }
    }

    /// Whether the response is a collection of items that policy may filter per caller.
    pub const fn is_listing(self) -> bool {
        matches!(
            self,
            Action::ListTools
                | Action::ListPrompts
                | Action::ListResources
                | Action::ListModels
                | Action::Discovery
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown action name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action `{0}`")]
pub struct UnknownAction(String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a.as_str()), "duplicate name {a}");
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("nope".parse::<Action>().is_err());
    }
}
