//! [`A2aRequest`]: an A2A call decoded once at the edge, as the policy layers see it.
//!
//! ```
//! use agent_gateway_a2a::op::Operation;
//! use agent_gateway_a2a::request::{A2aRequest, Binding};
//! use agent_gateway_a2a::version::Version;
//! use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};
//! use serde_json::json;
//!
//! let req = A2aRequest::new("planner", Operation::SendMessage, Version::V1_0, Binding::Rest { tenant: None },
//!     json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}));
//! // A message is an agent message to the named agent.
//! assert_eq!(req.action(), Action::AgentMessage);
//! assert_eq!(req.target(), Some("planner"));
//! assert_eq!(req.arguments().unwrap()["message"]["messageId"], "m1");
//! // Getting a task is a task operation, not a message.
//! let get = A2aRequest::new("planner", Operation::GetTask, Version::V1_0, Binding::Rest { tenant: None }, json!({}));
//! assert_ne!(get.action(), Action::AgentMessage);
//! ```

use agent_gateway_core::content::{Blocked, DataCheck};
use agent_gateway_core::jsonrpc::Id;
use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};
use http::{Extensions, HeaderMap};
use serde_json::Value;

use crate::op::Operation;
use crate::version::Version;

/// How the client reached the gateway, which decides how the answer is encoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Binding {
    /// JSON-RPC, with the request id to answer with.
    JsonRpc {
        /// The request's id; `None` for a 1.0 request sent without one (or with a null one),
        /// which is served like any other and answered with a null id, as a2a-sdk 1.x does.
        id: Option<Id>,
    },
    /// HTTP+JSON (REST), with the `/{tenant}/` path prefix if there was one.
    Rest {
        /// The tenant from the path.
        tenant: Option<String>,
    },
    /// A plain HTTP GET (agent card, discovery).
    Http,
}

/// An A2A request: which agent, which operation, in which version, and its params in that
/// version's JSON shape.
#[derive(Debug)]
pub struct A2aRequest {
    agent: String,
    op: Operation,
    version: Version,
    binding: Binding,
    params: Value,
    parts: Parts,
}

impl A2aRequest {
    /// A request of `op` to `agent` (empty for discovery), with `params`.
    pub fn new(
        agent: impl Into<String>,
        op: Operation,
        version: Version,
        binding: Binding,
        params: Value,
    ) -> Self {
        A2aRequest {
            agent: agent.into(),
            op,
            version,
            binding,
            params,
            parts: Parts::default(),
        }
    }

    /// Replaces the headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.parts.headers = headers;
        self
    }

    /// Replaces the extensions.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.parts.extensions = extensions;
        self
    }

    /// The agent's name (empty for discovery).
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The version the client speaks.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The binding the client used.
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The params, in the client's version.
    pub fn params(&self) -> &Value {
        &self.params
    }

    /// The params, mutably (a guardrail may redact them).
    pub fn params_mut(&mut self) -> &mut Value {
        &mut self.params
    }

    /// Splits into params and headers (the router's view).
    pub(crate) fn into_parts(self) -> (String, Operation, Version, Value, HeaderMap) {
        (
            self.agent,
            self.op,
            self.version,
            self.params,
            self.parts.headers,
        )
    }
}

impl AgentRequest for A2aRequest {
    fn protocol(&self) -> &'static str {
        "a2a"
    }

    fn action(&self) -> Action {
        self.op.action()
    }

    fn target(&self) -> Option<&str> {
        (!self.agent.is_empty()).then_some(self.agent.as_str())
    }

    fn arguments(&self) -> Option<&Value> {
        Some(&self.params)
    }

    fn method(&self) -> Option<&str> {
        self.op.method(self.version)
    }

    fn arguments_mut(&mut self) -> Option<&mut Value> {
        Some(&mut self.params)
    }

    fn parts(&self) -> &dyn RequestParts {
        &self.parts
    }

    /// The data parts of a message being sent (`/message/parts/N`); other operations carry
    /// none.
    fn check_data(&self, check: &mut dyn DataCheck) -> Result<(), Blocked> {
        let sends = matches!(
            self.op,
            Operation::SendMessage | Operation::SendStreamingMessage
        );
        match self.params.get("message").filter(|_| sends) {
            Some(message) => {
                crate::data::check_parts(message, &mut "/message".to_owned(), &[], check)
            }
            None => Ok(()),
        }
    }

    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        &mut self.parts
    }
}
