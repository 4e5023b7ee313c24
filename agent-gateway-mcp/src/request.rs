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
//! // A completion names the prompt or resource it completes for: that is its target.
//! let complete = McpRequest::from_value(3, "completion/complete", json!({
//!     "ref": {"type": "ref/resource", "uri": "fs+file:///srv/../etc/{name}"},
//!     "argument": {"name": "name", "value": "pa"}}));
//! assert_eq!(complete.action(), Action::ReadResource);
//! // Resource URIs are normalised (dot segments, percent-encoding) before anyone sees them.
//! assert_eq!(complete.target(), Some("fs+file:///etc/{name}"));
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

use crate::McpError;
use crate::era::Era;
use crate::method::McpMethod;
use crate::session::SessionBinding;

mod hop;
pub use hop::{ClientHop, Owner};

/// One MCP request, decoded once at the edge.
///
/// `params` is the request's parameter object (empty when the request had none). The target is
/// the tool or prompt name, or the resource URI, of the methods that address one:
///
/// | method | action | target |
/// |---|---|---|
/// | `tools/call` | `ToolCall` | `name` |
/// | `prompts/get` | `GetPrompt` | `name` |
/// | `resources/read`, `resources/subscribe`, `resources/unsubscribe` | `ReadResource` | `uri` |
/// | `completion/complete` with a `ref/prompt` | `GetPrompt` | `ref.name` |
/// | `completion/complete` with a `ref/resource` | `ReadResource` | `ref.uri` |
///
/// A modern `subscriptions/listen` names no single target: the front admits each resource URI
/// of its filter as a `ReadResource` of its own before the listen (see [`crate::front`]).
/// Every resource URI (the targets above and a listen filter's) is normalised when the
/// request is made ([`crate::uri::normalize`]: dot segments, percent-encoding), so rules and
/// the upstream see one spelling.
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
        mut params: Map<String, Value>,
    ) -> Self {
        let method = method.into();
        normalize_uris(&method, &mut params);
        McpRequest {
            id: id.into(),
            method,
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

    /// Sets the HTTP headers the request arrived with. A client that carries its W3C trace
    /// context in `params._meta` (where MCP reserves `traceparent` and `tracestate`) rather
    /// than in headers is continued the same way: with no `traceparent` header, a well-formed
    /// `_meta.traceparent` (and its `tracestate`) stands in for the headers.
    pub fn with_headers(mut self, mut headers: HeaderMap) -> Self {
        meta_trace_context(&self.params, &mut headers);
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

    /// Checks that a request on a legacy session comes from the caller who opened the session
    /// (the [`Caller`] the policy stack put in the extensions, compared by
    /// [`owner_digest`](Caller::owner_digest)), and records who sent it for the front. A
    /// request on no session passes.
    ///
    /// This crate's routers call it first thing; an inner service of your own that ends the
    /// stack should too. Anyone but the owner gets [`McpError::SessionNotFound`], the answer
    /// a forged session id gets, so another caller cannot even tell the session exists.
    pub fn check_session_owner(&self) -> Result<(), McpError> {
        match self.parts.extensions.get::<SessionBinding>() {
            Some(binding) => binding.check(
                self.parts
                    .extensions
                    .get::<Caller>()
                    .map(Caller::owner_digest),
            ),
            None => Ok(()),
        }
    }

    /// A `completion/complete` request's reference: its type and the name or URI it names.
    fn completion_ref(&self) -> Option<(&str, &str)> {
        let r = self.params.get("ref")?;
        let kind = r.get("type")?.as_str()?;
        let key = completion_ref_key(kind)?;
        Some((kind, r.get(key)?.as_str()?))
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

/// Copies a well-formed `params._meta.traceparent` (with its `tracestate`) into `headers` when
/// they carry no `traceparent` of their own; a malformed one is ignored.
fn meta_trace_context(params: &Map<String, Value>, headers: &mut HeaderMap) {
    use agent_gateway_core::trace::{TRACEPARENT, TRACESTATE, TraceParent};
    if headers.contains_key(TRACEPARENT) {
        return;
    }
    let Some(meta) = params.get("_meta").and_then(Value::as_object) else {
        return;
    };
    let member = |key: &str| meta.get(key).and_then(Value::as_str);
    let Some(parent) = member(TRACEPARENT).and_then(TraceParent::parse) else {
        return;
    };
    headers.insert(TRACEPARENT, parent.to_header_value());
    let state = member(TRACESTATE).and_then(|s| http::HeaderValue::from_str(s).ok());
    if let Some(state) = state {
        headers.insert(TRACESTATE, state);
    }
}

/// The member of a completion reference of type `kind` that names its target.
fn completion_ref_key(kind: &str) -> Option<&'static str> {
    match kind {
        "ref/prompt" => Some("name"),
        "ref/resource" => Some("uri"),
        _ => None,
    }
}

/// Normalises every resource URI of `method`'s params in place (see [`crate::uri`]).
fn normalize_uris(method: &McpMethod, params: &mut Map<String, Value>) {
    fn fix(v: Option<&mut Value>) {
        if let Some(Value::String(s)) = v
            && let std::borrow::Cow::Owned(n) = crate::uri::normalize(s)
        {
            *s = n;
        }
    }
    match method {
        McpMethod::ResourcesRead
        | McpMethod::ResourcesSubscribe
        | McpMethod::ResourcesUnsubscribe => {
            fix(params.get_mut("uri"));
        }
        McpMethod::CompletionComplete => {
            if let Some(Value::Object(r)) = params.get_mut("ref")
                && r.get("type").and_then(Value::as_str) == Some("ref/resource")
            {
                fix(r.get_mut("uri"));
            }
        }
        McpMethod::SubscriptionsListen => {
            if let Some(Value::Array(uris)) = params
                .get_mut("notifications")
                .and_then(|n| n.get_mut("resourceSubscriptions"))
            {
                uris.iter_mut().for_each(|u| fix(Some(u)));
            }
        }
        _ => {}
    }
}

/// The action of an MCP method, as the policy seam names it.
pub fn action_of(method: &str) -> Action {
    McpMethod::parse(method).action()
}

impl AgentRequest for McpRequest {
    fn protocol(&self) -> &'static str {
        "mcp"
    }

    fn method(&self) -> Option<&str> {
        Some(self.method.as_str())
    }

    fn action(&self) -> Action {
        match self.method {
            McpMethod::CompletionComplete => match self.completion_ref() {
                Some(("ref/prompt", _)) => Action::GetPrompt,
                Some(_) => Action::ReadResource,
                None => Action::Other,
            },
            _ => self.method.action(),
        }
    }

    fn target(&self) -> Option<&str> {
        if self.method == McpMethod::CompletionComplete {
            return self.completion_ref().map(|(_, target)| target);
        }
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

    fn arguments_mut(&mut self) -> Option<&mut Value> {
        // The params move to the upstream as they are, so an edit here is what it receives.
        self.method
            .has_arguments()
            .then(|| self.params.get_mut("arguments"))
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
    fn a_meta_traceparent_stands_in_for_a_missing_header() {
        use agent_gateway_core::trace::{TRACEPARENT, TRACESTATE};
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let call = |meta: Value| {
            McpRequest::from_value(1, "tools/call", json!({"name": "t", "_meta": meta}))
        };
        let req =
            call(json!({"traceparent": tp, "tracestate": "k=v"})).with_headers(HeaderMap::new());
        let headers = req.headers();
        assert_eq!(headers.get(TRACEPARENT).unwrap(), tp);
        assert_eq!(headers.get(TRACESTATE).unwrap(), "k=v");
        // A header wins over `_meta`; a malformed `_meta` value is not continued.
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let mut given = HeaderMap::new();
        given.insert(TRACEPARENT, http::HeaderValue::from_static(other));
        let req = call(json!({"traceparent": tp})).with_headers(given);
        assert_eq!(req.headers().get(TRACEPARENT).unwrap(), other);
        let req = call(json!({"traceparent": "00-xyz-01", "tracestate": "k=v"}))
            .with_headers(HeaderMap::new());
        assert!(req.headers().is_empty());
    }

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
        let unsubscribe =
            McpRequest::from_value(1, "resources/unsubscribe", json!({"uri": "a:/x/./y"}));
        assert_eq!(unsubscribe.action(), Action::ReadResource);
        assert_eq!(unsubscribe.target(), Some("a:/x/y"));
        let prompt_ref = McpRequest::from_value(
            1,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "demo__greet"}}),
        );
        assert_eq!(prompt_ref.action(), Action::GetPrompt);
        assert_eq!(prompt_ref.target(), Some("demo__greet"));
        // A reference of no known type, or naming nothing, is no target.
        for r in [
            json!({"type": "ref/other", "name": "x"}),
            json!({"type": "ref/prompt"}),
            json!({"type": "ref/resource", "uri": 3}),
            json!("ref/prompt"),
        ] {
            let c = McpRequest::from_value(1, "completion/complete", json!({ "ref": r }));
            assert_eq!((c.action(), c.target()), (Action::Other, None), "{r}");
        }
        let listen = McpRequest::from_value(
            1,
            "subscriptions/listen",
            json!({"notifications": {"resourceSubscriptions": ["a:/b/../c", 7]}}),
        );
        assert_eq!(
            listen.params()["notifications"]["resourceSubscriptions"],
            json!(["a:/c", 7])
        );
    }
}
