//! The MCP request as the policy layers see it: one decoded JSON-RPC request, its era and its
//! HTTP context.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};
//! use agent_gateway_mcp::McpRequest;
//! use serde_json::json;
//!
//! let call = McpRequest::from_value(1, "tools/call", json!({"name": "fs__read", "arguments": {"path": "/x"}}));
//! assert_eq!(call.action(), Action::ToolCall);
//! assert_eq!(call.target(), Some("fs__read"));
//! assert_eq!(call.arguments(), Some(&json!({"path": "/x"})));
//!
//! // A method the seam does not know is `Other`, with no target.
//! let other = McpRequest::from_value(2, "vendor/thing", json!({"name": "n"}));
//! assert_eq!(other.action(), Action::Other);
//! assert_eq!(other.target(), None);
//! ```

use agent_gateway_core::jsonrpc::Id;
use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};
use http::{Extensions, HeaderMap};
use serde_json::{Map, Value};

use crate::era::Era;

/// One MCP request, decoded once at the edge.
///
/// `params` is the request's parameter object (empty when the request had none). The target is
/// the tool or prompt name, or the resource URI, of the methods that address one.
#[derive(Debug, Clone)]
pub struct McpRequest {
    id: Id,
    method: String,
    params: Map<String, Value>,
    era: Era,
    parts: Parts,
}

impl McpRequest {
    /// A request with `id`, `method` and `params`, in the modern era, with no headers.
    pub fn new(id: impl Into<Id>, method: impl Into<String>, params: Map<String, Value>) -> Self {
        McpRequest {
            id: id.into(),
            method: method.into(),
            params,
            era: Era::Modern,
            parts: Parts::default(),
        }
    }

    /// Like [`new`](Self::new), from a JSON value: anything but an object becomes empty params.
    pub fn from_value(id: impl Into<Id>, method: impl Into<String>, params: Value) -> Self {
        let params = match params {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        McpRequest::new(id, method, params)
    }

    /// Sets the era the client speaks.
    pub fn with_era(mut self, era: Era) -> Self {
        self.era = era;
        self
    }

    /// Sets the HTTP headers the request arrived with.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.parts.headers = headers;
        self
    }

    /// Sets the extensions (the caller, the run id, ...).
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.parts.extensions = extensions;
        self
    }

    /// The JSON-RPC id.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The method name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The parameter object.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The parameter object, mutably (the federation router rewrites names).
    pub fn params_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.params
    }

    /// The era the client speaks.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The parameter member the target lives in for this method, if any.
    pub fn target_key(&self) -> Option<&'static str> {
        match self.method.as_str() {
            "tools/call" | "prompts/get" => Some("name"),
            "resources/read" | "resources/subscribe" => Some("uri"),
            _ => None,
        }
    }
}

/// The action of an MCP method, as the policy seam names it.
pub fn action_of(method: &str) -> Action {
    match method {
        "tools/call" => Action::ToolCall,
        "tools/list" => Action::ListTools,
        "prompts/get" => Action::GetPrompt,
        "prompts/list" => Action::ListPrompts,
        // Subscribing to a resource's updates reads it, as far as a policy is concerned.
        "resources/read" | "resources/subscribe" => Action::ReadResource,
        "resources/list" | "resources/templates/list" => Action::ListResources,
        "server/discover" => Action::Discovery,
        "initialize" | "ping" | "subscriptions/listen" | "resources/unsubscribe" => {
            Action::Protocol
        }
        m if m.starts_with("notifications/") => Action::Protocol,
        _ => Action::Other,
    }
}

impl AgentRequest for McpRequest {
    fn protocol(&self) -> &'static str {
        "mcp"
    }

    fn action(&self) -> Action {
        action_of(&self.method)
    }

    fn target(&self) -> Option<&str> {
        self.target_key()
            .and_then(|key| self.params.get(key))
            .and_then(Value::as_str)
    }

    fn arguments(&self) -> Option<&Value> {
        match self.method.as_str() {
            "tools/call" | "prompts/get" => self.params.get("arguments"),
            _ => None,
        }
    }

    fn parts(&self) -> &dyn RequestParts {
        &self.parts
    }

    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        &mut self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_targets_and_arguments() {
        let read = McpRequest::from_value(1, "resources/read", json!({"uri": "file:///a"}));
        assert_eq!(read.action(), Action::ReadResource);
        assert_eq!(read.target(), Some("file:///a"));
        assert_eq!(read.arguments(), None);
        let list = McpRequest::from_value(1, "resources/templates/list", json!({}));
        assert_eq!(list.action(), Action::ListResources);
        let prompt = McpRequest::from_value(
            "p",
            "prompts/get",
            json!({"name": "p1", "arguments": {"a": "b"}}),
        );
        assert_eq!(prompt.action(), Action::GetPrompt);
        assert_eq!(prompt.arguments(), Some(&json!({"a": "b"})));
        assert_eq!(action_of("notifications/initialized"), Action::Protocol);
        assert_eq!(action_of("server/discover"), Action::Discovery);
        // A non-string name is no target.
        let odd = McpRequest::from_value(1, "tools/call", json!({"name": 5}));
        assert_eq!(odd.target(), None);
    }
}

/// What the client declared on its hop to the gateway, put in every request's extensions by
/// the front: the capabilities it can answer server→client requests for, and the log level it
/// opted in to. Upstream connectors tell the upstream the same, so an upstream never asks for
/// input the client cannot give, nor logs to a client that did not ask.
///
/// ```
/// use agent_gateway_mcp::request::ClientHop;
/// use serde_json::json;
///
/// let hop = ClientHop::new(json!({"sampling": {}}), Some("info".into()));
/// assert!(hop.declares("sampling"));
/// assert!(!hop.declares("elicitation"));
/// assert_eq!(hop.log_level(), Some("info"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClientHop {
    capabilities: Value,
    log_level: Option<String>,
    session: Option<String>,
    owner: Option<String>,
}

impl Default for ClientHop {
    fn default() -> Self {
        ClientHop::new(Value::Object(Map::new()), None)
    }
}

impl ClientHop {
    /// A hop with these client `capabilities` (an object; anything else counts as none) and
    /// log level.
    pub fn new(capabilities: Value, log_level: Option<String>) -> Self {
        let capabilities = match capabilities {
            Value::Object(m) => Value::Object(m),
            _ => Value::Object(Map::new()),
        };
        ClientHop {
            capabilities,
            log_level,
            session: None,
            owner: None,
        }
    }

    /// Names who sends the request (the authenticated caller): state the gateway keeps for a
    /// request, such as a parked call, is then bound to that caller. Never sent upstream.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Who sends the request, if known.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Names the client's own session with `key` (an opaque, non-secret digest): connectors
    /// that keep upstream sessions keep one per key.
    pub fn with_session(mut self, key: impl Into<String>) -> Self {
        self.session = Some(key.into());
        self
    }

    /// The key of the client's own session, if it has one (legacy clients).
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The client's capabilities (an object).
    pub fn capabilities(&self) -> &Value {
        &self.capabilities
    }

    /// Whether the client declared `capability` (`sampling`, `elicitation`, `roots`).
    pub fn declares(&self, capability: &str) -> bool {
        self.capabilities.get(capability).is_some()
    }

    /// The log level the client opted in to, if any.
    pub fn log_level(&self) -> Option<&str> {
        self.log_level.as_deref()
    }
}
