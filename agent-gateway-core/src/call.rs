//! A ready-made request type implementing the seam, for protocols and tests alike.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, Call};
//! use serde_json::json;
//!
//! let call = Call::new(Action::ModelCall, json!({"model": "gpt-fast"}))
//!     .with_protocol("llm")
//!     .with_target("gpt-fast")
//!     .with_estimated_input_tokens(12)
//!     .with_payload(42_u32);
//! assert_eq!(call.protocol(), "llm");
//! assert_eq!(call.arguments().unwrap()["model"], "gpt-fast");
//! assert_eq!(call.estimated_input_tokens(), Some(12));
//! assert_eq!(*call.payload(), 42);
//! ```

use http::HeaderMap;
use serde_json::Value;

use crate::request::{Parts, RequestParts};
use crate::{Action, AgentRequest, Caller, RunId};

/// A decoded request: action, target, JSON arguments, headers and extensions, plus a
/// protocol-specific payload `P` that the policy layers never look at.
#[derive(Debug, Clone)]
pub struct Call<P = ()> {
    protocol: &'static str,
    action: Action,
    target: Option<String>,
    arguments: Value,
    parts: Parts,
    estimated_input_tokens: Option<u64>,
    payload: P,
}

impl Call<()> {
    /// A call of `action` with `arguments`, no target and no payload.
    pub fn new(action: Action, arguments: Value) -> Self {
        Call {
            protocol: "call",
            action,
            target: None,
            arguments,
            parts: Parts::default(),
            estimated_input_tokens: None,
            payload: (),
        }
    }
}

impl<P> Call<P> {
    /// Sets the protocol label.
    pub fn with_protocol(mut self, protocol: &'static str) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the target.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the caller.
    pub fn with_caller(mut self, caller: Caller) -> Self {
        self.parts.extensions.insert(caller);
        self
    }

    /// Sets the run id.
    pub fn with_run_id(mut self, run: RunId) -> Self {
        self.parts.extensions.insert(run);
        self
    }

    /// Replaces the headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.parts.headers = headers;
        self
    }

    /// Sets the estimate of input tokens.
    pub fn with_estimated_input_tokens(mut self, tokens: u64) -> Self {
        self.estimated_input_tokens = Some(tokens);
        self
    }

    /// Replaces the payload.
    pub fn with_payload<Q>(self, payload: Q) -> Call<Q> {
        Call {
            protocol: self.protocol,
            action: self.action,
            target: self.target,
            arguments: self.arguments,
            parts: self.parts,
            estimated_input_tokens: self.estimated_input_tokens,
            payload,
        }
    }

    /// The protocol-specific payload.
    pub fn payload(&self) -> &P {
        &self.payload
    }

    /// The payload, mutably.
    pub fn payload_mut(&mut self) -> &mut P {
        &mut self.payload
    }

    /// The arguments, mutably (a guardrail may redact them).
    pub fn arguments_mut(&mut self) -> &mut Value {
        &mut self.arguments
    }

    /// Splits the call into its payload and the rest.
    pub fn into_payload(self) -> P {
        self.payload
    }
}

impl<P> AgentRequest for Call<P> {
    fn protocol(&self) -> &'static str {
        self.protocol
    }

    fn action(&self) -> Action {
        self.action
    }

    fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    fn arguments(&self) -> Option<&Value> {
        Some(&self.arguments)
    }

    fn arguments_mut(&mut self) -> Option<&mut Value> {
        Some(&mut self.arguments)
    }

    fn parts(&self) -> &dyn RequestParts {
        &self.parts
    }

    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        &mut self.parts
    }

    fn estimated_input_tokens(&self) -> Option<u64> {
        self.estimated_input_tokens
    }
}
