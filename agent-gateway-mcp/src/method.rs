//! The MCP method, decoded once at the edge: every question the crate asks of a method name
//! (its target, its action, who answers it, whether its result is cacheable or counts as a
//! step) is answered here, in one table.
//!
//! ```
//! use agent_gateway_core::Action;
//! use agent_gateway_mcp::Era;
//! use agent_gateway_mcp::method::McpMethod;
//!
//! let call = McpMethod::from("tools/call");
//! assert_eq!(call, McpMethod::ToolsCall);
//! assert_eq!(call.as_str(), "tools/call");
//! assert_eq!(call.action(), Action::ToolCall);
//! assert_eq!(call.target_key(), Some("name"));
//! assert!(call.is_forwarded() && call.counts_as_step());
//!
//! // The front answers `initialize` itself (legacy era), once the policy stack admitted it.
//! assert!(McpMethod::Initialize.is_admission_only(Era::Legacy));
//! assert!(!McpMethod::Initialize.is_admission_only(Era::Modern));
//!
//! // A method the crate does not know keeps its name and is no one's target.
//! let other = McpMethod::from("vendor/thing");
//! assert_eq!(other.as_str(), "vendor/thing");
//! assert_eq!((other.action(), other.target_key()), (Action::Other, None));
//! ```

use std::fmt;

use agent_gateway_core::Action;

use crate::era::Era;

/// An MCP method. Unknown names (vendor methods, notifications) are kept in
/// [`Other`](McpMethod::Other), so a request's method always round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum McpMethod {
    /// `initialize` (legacy era).
    Initialize,
    /// `ping`.
    Ping,
    /// `server/discover` (modern era).
    ServerDiscover,
    /// `logging/setLevel` (legacy era).
    LoggingSetLevel,
    /// `tools/list`.
    ToolsList,
    /// `tools/call`.
    ToolsCall,
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get`.
    PromptsGet,
    /// `resources/list`.
    ResourcesList,
    /// `resources/read`.
    ResourcesRead,
    /// `resources/templates/list`.
    ResourcesTemplatesList,
    /// `resources/subscribe` (legacy era).
    ResourcesSubscribe,
    /// `resources/unsubscribe` (legacy era).
    ResourcesUnsubscribe,
    /// `subscriptions/listen` (modern era).
    SubscriptionsListen,
    /// `completion/complete`.
    CompletionComplete,
    /// The gateway's own name for a legacy client's `DELETE` of its session: no wire method,
    /// the request the policy stack admits before the session ends.
    SessionDelete,
    /// The gateway's own name for a legacy client's `GET` with `Last-Event-ID`, resuming a
    /// broken answer stream: admitted by the policy stack before anything is replayed.
    StreamResume,
    /// The gateway's own name for a legacy client's POSTed JSON-RPC response (its answer to a
    /// server→client request such as an elicitation): admitted before it is delivered.
    ClientAnswer,
    /// Any other method, by name (notifications included).
    Other(String),
}

/// The known methods and their wire names: the one place a name is spelled.
const NAMES: [(McpMethod, &str); 18] = [
    (McpMethod::Initialize, "initialize"),
    (McpMethod::Ping, "ping"),
    (McpMethod::ServerDiscover, "server/discover"),
    (McpMethod::LoggingSetLevel, "logging/setLevel"),
    (McpMethod::ToolsList, "tools/list"),
    (McpMethod::ToolsCall, "tools/call"),
    (McpMethod::PromptsList, "prompts/list"),
    (McpMethod::PromptsGet, "prompts/get"),
    (McpMethod::ResourcesList, "resources/list"),
    (McpMethod::ResourcesRead, "resources/read"),
    (
        McpMethod::ResourcesTemplatesList,
        "resources/templates/list",
    ),
    (McpMethod::ResourcesSubscribe, "resources/subscribe"),
    (McpMethod::ResourcesUnsubscribe, "resources/unsubscribe"),
    (McpMethod::SubscriptionsListen, "subscriptions/listen"),
    (McpMethod::CompletionComplete, "completion/complete"),
    (McpMethod::SessionDelete, "gateway/session/delete"),
    (McpMethod::StreamResume, "gateway/stream/resume"),
    (McpMethod::ClientAnswer, "gateway/client/answer"),
];

impl McpMethod {
    /// Decodes a method name.
    pub fn parse(name: &str) -> McpMethod {
        NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| McpMethod::Other(name.to_owned()), |(m, _)| m.clone())
    }

    /// The method's wire name.
    pub fn as_str(&self) -> &str {
        match self {
            McpMethod::Other(name) => name,
            known => NAMES
                .iter()
                .find(|(m, _)| m == known)
                .map_or("", |(_, n)| n),
        }
    }

    /// The action the policy seam sees.
    pub fn action(&self) -> Action {
        match self {
            McpMethod::ToolsCall => Action::ToolCall,
            McpMethod::ToolsList => Action::ListTools,
            McpMethod::PromptsGet => Action::GetPrompt,
            McpMethod::PromptsList => Action::ListPrompts,
            // Subscribing to a resource's updates reads it, as far as a policy is concerned; a
            // rule that denies the resource denies unsubscribing too (there is nothing to end).
            McpMethod::ResourcesRead
            | McpMethod::ResourcesSubscribe
            | McpMethod::ResourcesUnsubscribe => Action::ReadResource,
            McpMethod::ResourcesList | McpMethod::ResourcesTemplatesList => Action::ListResources,
            McpMethod::ServerDiscover => Action::Discovery,
            McpMethod::Initialize
            | McpMethod::Ping
            | McpMethod::SubscriptionsListen
            | McpMethod::SessionDelete
            | McpMethod::StreamResume
            | McpMethod::ClientAnswer => Action::Protocol,
            McpMethod::Other(name) if name.starts_with("notifications/") => Action::Protocol,
            McpMethod::LoggingSetLevel | McpMethod::CompletionComplete | McpMethod::Other(_) => {
                Action::Other
            }
        }
    }

    /// The top-level parameter member holding the target (a tool or prompt name, a resource
    /// URI). A `completion/complete` names its target inside `ref`: see
    /// [`McpRequest`](crate::McpRequest)'s `target()`.
    pub fn target_key(&self) -> Option<&'static str> {
        match self {
            McpMethod::ToolsCall | McpMethod::PromptsGet => Some("name"),
            McpMethod::ResourcesRead
            | McpMethod::ResourcesSubscribe
            | McpMethod::ResourcesUnsubscribe => Some("uri"),
            _ => None,
        }
    }

    /// The parameter member a modern request mirrors in its `Mcp-Name` header, if any.
    pub fn name_header_key(&self) -> Option<&'static str> {
        match self {
            // Legacy-only methods: no mirrored headers.
            McpMethod::ResourcesSubscribe | McpMethod::ResourcesUnsubscribe => None,
            other => other.target_key(),
        }
    }

    /// Whether the method carries caller-supplied `arguments` (tool calls, prompt gets).
    pub fn has_arguments(&self) -> bool {
        matches!(self, McpMethod::ToolsCall | McpMethod::PromptsGet)
    }

    /// Whether the front hands the method to an upstream (through the inner service).
    pub fn is_forwarded(&self) -> bool {
        matches!(
            self,
            McpMethod::ToolsList
                | McpMethod::ToolsCall
                | McpMethod::PromptsList
                | McpMethod::PromptsGet
                | McpMethod::ResourcesList
                | McpMethod::ResourcesRead
                | McpMethod::ResourcesTemplatesList
                | McpMethod::CompletionComplete
        )
    }

    /// The era in which the front answers the method itself, if it does.
    pub fn own_era(&self) -> Option<Era> {
        match self {
            McpMethod::ServerDiscover => Some(Era::Modern),
            McpMethod::Initialize | McpMethod::Ping | McpMethod::LoggingSetLevel => {
                Some(Era::Legacy)
            }
            _ => None,
        }
    }

    /// Whether the front answers the method itself in `era`: the inner service then only
    /// admits it (the policy stack runs), and a router answers it without calling upstream.
    pub fn is_admission_only(&self, era: Era) -> bool {
        self.own_era() == Some(era)
    }

    /// Whether a modern result of the method carries `ttlMs` and `cacheScope`.
    pub fn is_cacheable(&self) -> bool {
        matches!(
            self,
            McpMethod::ToolsList
                | McpMethod::PromptsList
                | McpMethod::ResourcesList
                | McpMethod::ResourcesTemplatesList
                | McpMethod::ResourcesRead
                | McpMethod::ServerDiscover
        )
    }

    /// Whether the method's result counts as one step of a run (what a run budget counts).
    pub fn counts_as_step(&self) -> bool {
        matches!(
            self,
            McpMethod::ToolsCall | McpMethod::PromptsGet | McpMethod::ResourcesRead
        )
    }
}

impl From<&str> for McpMethod {
    fn from(name: &str) -> Self {
        McpMethod::parse(name)
    }
}

impl From<String> for McpMethod {
    fn from(name: String) -> Self {
        match McpMethod::parse(&name) {
            McpMethod::Other(_) => McpMethod::Other(name),
            known => known,
        }
    }
}

impl From<&McpMethod> for McpMethod {
    fn from(method: &McpMethod) -> Self {
        method.clone()
    }
}

impl From<McpMethod> for String {
    fn from(method: McpMethod) -> Self {
        match method {
            McpMethod::Other(name) => name,
            known => known.as_str().to_owned(),
        }
    }
}

impl PartialEq<str> for McpMethod {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for McpMethod {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for McpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_round_trips_and_unknown_names_are_kept() {
        for (method, name) in NAMES {
            assert_eq!(McpMethod::from(name), method);
            assert_eq!(McpMethod::from(name.to_owned()), method);
            assert_eq!(method.as_str(), name);
            assert!(!matches!(method, McpMethod::Other(_)));
        }
        let note = McpMethod::from("notifications/initialized");
        assert_eq!(note, McpMethod::Other("notifications/initialized".into()));
        assert_eq!(note.action(), Action::Protocol);
        assert_eq!(McpMethod::from("x/y").action(), Action::Other);
    }

    #[test]
    fn the_table_answers_each_question() {
        let subscribe = McpMethod::ResourcesSubscribe;
        assert_eq!(subscribe.target_key(), Some("uri"));
        assert_eq!(subscribe.name_header_key(), None);
        assert_eq!(McpMethod::ResourcesRead.name_header_key(), Some("uri"));
        assert!(McpMethod::PromptsGet.has_arguments());
        assert!(!McpMethod::ResourcesRead.has_arguments());
        assert!(McpMethod::ServerDiscover.is_admission_only(Era::Modern));
        assert!(McpMethod::Ping.is_admission_only(Era::Legacy));
        assert!(!McpMethod::ToolsCall.is_admission_only(Era::Legacy));
        assert!(McpMethod::ServerDiscover.is_cacheable());
        assert!(!McpMethod::ToolsCall.is_cacheable());
        assert!(McpMethod::ResourcesRead.counts_as_step());
        assert!(!McpMethod::ToolsList.counts_as_step());
        assert!(!McpMethod::Initialize.is_forwarded());
        assert!(McpMethod::CompletionComplete.is_forwarded());
    }
}
