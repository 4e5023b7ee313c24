//! The request side of the seam: what every protocol's request tells the policy layers.
//!
//! A policy layer is written once, generic over [`AgentRequest`], and so works on MCP, A2A and
//! LLM traffic alike.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, Call, Caller, RunId};
//! use serde_json::json;
//!
//! // A policy decision written once, for any protocol.
//! fn may_proceed(req: &impl AgentRequest) -> bool {
//!     match (req.action(), req.caller()) {
//!         (Action::ToolCall, Some(c)) => c.has_role("admin") || req.target() != Some("fs.delete"),
//!         (_, caller) => caller.is_some(),
//!     }
//! }
//!
//! let mut call = Call::new(Action::ToolCall, json!({})).with_target("fs.delete");
//! assert!(!may_proceed(&call));
//! call.set_caller(Caller::new("root").with_role("admin"));
//! call.set_run_id(RunId::new("r1").unwrap());
//! assert!(may_proceed(&call));
//! assert_eq!(call.run_id().map(RunId::as_str), Some("r1"));
//! ```

use http::{Extensions, HeaderMap};
use serde_json::Value;

use crate::{Action, Caller, RunId};

/// A decoded agent request, as the policy layers see it.
///
/// Protocol fronts decode their wire format once, at the edge, into a type implementing this
/// trait. A request type implements only [`protocol`], [`action`], [`target`], [`arguments`]
/// and where its headers and extensions live ([`parts`], [`parts_mut`], usually a [`Parts`]
/// field). The caller and run id live in the extensions, so the defaults of [`caller`],
/// [`set_caller`], [`run_id`] and [`set_run_id`] rarely need overriding.
///
/// [`protocol`]: AgentRequest::protocol
/// [`action`]: AgentRequest::action
/// [`target`]: AgentRequest::target
/// [`arguments`]: AgentRequest::arguments
/// [`parts`]: AgentRequest::parts
/// [`parts_mut`]: AgentRequest::parts_mut
///
/// [`caller`]: AgentRequest::caller
/// [`set_caller`]: AgentRequest::set_caller
/// [`run_id`]: AgentRequest::run_id
/// [`set_run_id`]: AgentRequest::set_run_id
pub trait AgentRequest {
    /// The protocol that carried the request: `"mcp"`, `"a2a"`, `"llm"`, or another label.
    fn protocol(&self) -> &'static str;

    /// What kind of action this is.
    fn action(&self) -> Action;

    /// The tool, prompt, resource, agent or model alias the request addresses, if any.
    fn target(&self) -> Option<&str>;

    /// The JSON arguments or content of the request, if any: tool arguments, the agent
    /// message, the model request body.
    fn arguments(&self) -> Option<&Value>;

    /// The same arguments, mutably, for a guardrail that redacts or trims them. What is
    /// written here is what the upstream receives: the protocol re-encodes the request from
    /// it. `None` when the request has no arguments a layer may rewrite (the default).
    fn arguments_mut(&mut self) -> Option<&mut Value> {
        None
    }

    /// Where the request keeps its headers and extensions: usually a [`Parts`] field.
    fn parts(&self) -> &dyn RequestParts;

    /// Its headers and extensions, mutably.
    fn parts_mut(&mut self) -> &mut dyn RequestParts;

    /// The HTTP headers the request arrived with. The auth layer reads credentials here and
    /// strips them through [`headers_mut`](AgentRequest::headers_mut).
    fn headers(&self) -> &HeaderMap {
        self.parts().headers()
    }

    /// The HTTP headers, mutably.
    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.parts_mut().headers_mut()
    }

    /// Typed extensions: the caller, the run id, and whatever layers attach.
    fn extensions(&self) -> &Extensions {
        self.parts().extensions()
    }

    /// Typed extensions, mutably.
    fn extensions_mut(&mut self) -> &mut Extensions {
        self.parts_mut().extensions_mut()
    }

    /// An estimate of the input tokens this request will use, for admission by token quotas
    /// before the call. Reconciled with actual usage when the response ends.
    fn estimated_input_tokens(&self) -> Option<u64> {
        None
    }

    /// The protocol's method name as the client sent it (MCP `tools/call`, A2A
    /// `SendMessage`), for telemetry; `None` where the protocol has no method names.
    fn method(&self) -> Option<&str> {
        None
    }

    /// The tools this request offers a model, with their argument schemas (an LLM request's
    /// `tools`), for a guardrail that checks the calls the model answers with. Empty for
    /// requests that offer none (the default).
    fn offered_tools(&self) -> Vec<crate::content::ToolDefinition<'_>> {
        Vec::new()
    }

    /// Hands `check` each item of structured data this request carries (an A2A message's data
    /// parts), in order, stopping at the first block. Requests without such data (the
    /// default) pass.
    fn check_data(
        &self,
        check: &mut dyn crate::content::DataCheck,
    ) -> Result<(), crate::content::Blocked> {
        let _ = check;
        Ok(())
    }

    /// Who is calling, once an auth layer (or the application) has said so.
    fn caller(&self) -> Option<&Caller> {
        self.extensions().get::<Caller>()
    }

    /// Records who is calling.
    fn set_caller(&mut self, caller: Caller) {
        self.extensions_mut().insert(caller);
    }

    /// The run this request belongs to, if known.
    fn run_id(&self) -> Option<&RunId> {
        self.extensions().get::<RunId>()
    }

    /// Records the run this request belongs to.
    fn set_run_id(&mut self, run: RunId) {
        self.extensions_mut().insert(run);
    }
}

/// Requests that are plain HTTP requests carry no decoded action: they are [`Action::Other`]
/// with no target or arguments. This lets a policy stack sit in front of any HTTP route, such
/// as a health or metadata endpoint, with the same layers.
impl<B> AgentRequest for http::Request<B> {
    fn protocol(&self) -> &'static str {
        "http"
    }

    fn action(&self) -> Action {
        Action::Other
    }

    fn target(&self) -> Option<&str> {
        None
    }

    fn arguments(&self) -> Option<&Value> {
        None
    }

    fn parts(&self) -> &dyn RequestParts {
        self
    }

    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        self
    }
}

/// The headers and extensions of a request: what every protocol's request carries next to
/// its decoded content. A request type holds one and returns it from [`AgentRequest::parts`].
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// The HTTP headers the request arrived with.
    pub headers: HeaderMap,
    /// Typed extensions: the caller, the run id, and whatever layers attach.
    pub extensions: Extensions,
}

impl Parts {
    /// Headers and extensions, as taken from an HTTP request.
    pub fn new(headers: HeaderMap, extensions: Extensions) -> Self {
        Parts {
            headers,
            extensions,
        }
    }
}

impl From<http::request::Parts> for Parts {
    fn from(parts: http::request::Parts) -> Self {
        Parts::new(parts.headers, parts.extensions)
    }
}

/// Where a request keeps its headers and extensions: a core [`Parts`], or an
/// [`http::Request`]'s own, so that a plain HTTP request is an [`AgentRequest`] too.
pub trait RequestParts {
    /// The headers.
    fn headers(&self) -> &HeaderMap;
    /// The headers, mutably.
    fn headers_mut(&mut self) -> &mut HeaderMap;
    /// The extensions.
    fn extensions(&self) -> &Extensions;
    /// The extensions, mutably.
    fn extensions_mut(&mut self) -> &mut Extensions;
}

impl RequestParts for Parts {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

impl<B> RequestParts for http::Request<B> {
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers_mut()
    }

    fn extensions(&self) -> &Extensions {
        self.extensions()
    }

    fn extensions_mut(&mut self) -> &mut Extensions {
        self.extensions_mut()
    }
}

impl RequestParts for http::request::Parts {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_requests_carry_caller_in_extensions() {
        let mut req = http::Request::new(());
        assert!(AgentRequest::caller(&req).is_none());
        req.set_caller(Caller::new("bob"));
        assert_eq!(
            req.extensions().get::<Caller>().map(|c| c.subject()),
            Some("bob")
        );
        assert_eq!(AgentRequest::action(&req), Action::Other);
        assert_eq!(req.protocol(), "http");
    }

    #[test]
    fn the_provided_accessors_read_and_write_the_parts() {
        let mut call = crate::Call::new(Action::ToolCall, serde_json::json!({}));
        call.headers_mut()
            .insert("x-run", http::HeaderValue::from_static("r1"));
        call.set_caller(Caller::new("carol"));
        assert_eq!(call.parts().headers()["x-run"], "r1");
        assert_eq!(
            call.parts()
                .extensions()
                .get::<Caller>()
                .map(Caller::subject),
            Some("carol")
        );
        // A request type whose parts are an `http::request::Parts`.
        let (mut parts, ()) = http::Request::new(()).into_parts();
        RequestParts::headers_mut(&mut parts).insert("x-a", http::HeaderValue::from_static("1"));
        let core = Parts::from(parts);
        assert_eq!(core.headers["x-a"], "1");
    }
}
