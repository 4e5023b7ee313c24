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
use agent_gateway_core::{Action, AgentRequest, Caller, Parts, RequestParts};
use http::{Extensions, HeaderMap};
use serde_json::{Map, Value};

use crate::era::Era;
use crate::method::McpMethod;

/// One MCP request, decoded once at the edge.
///
/// `params` is the request's parameter object (empty when the request had none). The target is
/// the tool or prompt name, or the resource URI, of the methods that address one.
#[derive(Debug, Clone)]
pub struct McpRequest {
    id: Id,
    method: McpMethod,
    params: Map<String, Value>,
    era: Era,
    admission_only: bool,
    parts: Parts,
}

/// An [`McpRequest`] taken apart, so a router moves its parameters instead of cloning them.
#[derive(Debug)]
#[non_exhaustive]
pub struct McpRequestParts {
    /// The JSON-RPC id.
    pub id: Id,
    /// The method.
    pub method: McpMethod,
    /// The parameter object.
    pub params: Map<String, Value>,
    /// The era the client speaks.
    pub era: Era,
    /// Whether the front answers the request itself once admitted.
    pub admission_only: bool,
    /// The HTTP headers the request arrived with.
    pub headers: HeaderMap,
    /// The extensions (the caller, the client hop, the notifier, ...).
    pub extensions: Extensions,
}

impl McpRequest {
    /// A request with `id`, `method` and `params`, in the modern era, with no headers.
    pub fn new(
        id: impl Into<Id>,
        method: impl Into<McpMethod>,
        params: Map<String, Value>,
    ) -> Self {
        McpRequest {
            id: id.into(),
            method: method.into(),
            params,
            era: Era::Modern,
            admission_only: false,
            parts: Parts::default(),
        }
    }

    /// Like [`new`](Self::new), from a JSON value: anything but an object becomes empty params.
    pub fn from_value(id: impl Into<Id>, method: impl Into<McpMethod>, params: Value) -> Self {
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

    /// Marks the request as admission-only: the front answers it itself (`initialize`, `ping`,
    /// `server/discover`, `logging/setLevel`) and sends it through the inner service only so
    /// the policy stack admits or refuses it. A router answers such a request with an empty
    /// result and calls no upstream.
    pub fn with_admission_only(mut self, admission_only: bool) -> Self {
        self.admission_only = admission_only;
        self
    }

    /// Whether the request is admission-only (see
    /// [`with_admission_only`](Self::with_admission_only)).
    pub fn is_admission_only(&self) -> bool {
        self.admission_only
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

    /// The method, decoded (compares with a wire name: `req.method() == "tools/call"`).
    pub fn method(&self) -> &McpMethod {
        &self.method
    }

    /// The method's wire name, as `method().as_str()`.
    pub fn method_name(&self) -> &str {
        self.method.as_str()
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
        self.method.target_key()
    }

    /// Who sends the request: the authenticated [`Caller`] in the extensions, if any.
    pub fn owner(&self) -> Option<Owner> {
        self.parts.extensions.get::<Caller>().map(Owner::of)
    }

    /// The request taken apart (no copy of the parameters).
    pub fn into_parts(self) -> McpRequestParts {
        McpRequestParts {
            id: self.id,
            method: self.method,
            params: self.params,
            era: self.era,
            admission_only: self.admission_only,
            headers: self.parts.headers,
            extensions: self.parts.extensions,
        }
    }
}

/// The action of an MCP method, as the policy seam names it.
pub fn action_of(method: &str) -> Action {
    McpMethod::parse(method).action()
}

/// Who owns state the gateway keeps for a caller (a parked call, later a session): the
/// caller's subject and tenant, as the auth layer set them. Another caller is another owner.
///
/// ```
/// use agent_gateway_core::Caller;
/// use agent_gateway_mcp::request::Owner;
///
/// let alice = Owner::of(&Caller::new("alice").with_tenant("acme"));
/// assert_eq!(alice, Owner::new("alice", Some("acme")));
/// assert_ne!(alice, Owner::new("alice", None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    subject: String,
    tenant: Option<String>,
}

impl Owner {
    /// The owner with `subject` in `tenant`.
    pub fn new(subject: impl Into<String>, tenant: Option<&str>) -> Self {
        Owner {
            subject: subject.into(),
            tenant: tenant.map(str::to_owned),
        }
    }

    /// The owner a caller is.
    pub fn of(caller: &Caller) -> Self {
        Owner::new(caller.subject(), caller.tenant())
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The tenant, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}

impl AgentRequest for McpRequest {
    fn protocol(&self) -> &'static str {
        "mcp"
    }

    fn action(&self) -> Action {
        self.method.action()
    }

    fn target(&self) -> Option<&str> {
        self.target_key()
            .and_then(|key| self.params.get(key))
            .and_then(Value::as_str)
    }

    fn arguments(&self) -> Option<&Value> {
        self.method
            .has_arguments()
            .then(|| self.params.get("arguments"))
            .flatten()
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
    owner: Option<Owner>,
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
    pub fn with_owner(mut self, owner: Option<Owner>) -> Self {
        self.owner = owner;
        self
    }

    /// Who sends the request, if known.
    pub fn owner(&self) -> Option<&Owner> {
        self.owner.as_ref()
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
