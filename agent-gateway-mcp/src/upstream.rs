//! What a router sends to one upstream server.
//!
//! An [`UpstreamRequest`] carries a method and its parameters and nothing else: no inbound
//! headers, so a client's credential cannot reach an upstream by accident. An upstream answers
//! with the result object, or fails; a JSON-RPC error from the upstream is an
//! [`McpError::Upstream`].
//!
//! ```
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::json;
//!
//! let req = UpstreamRequest::new("tools/call", json!({"name": "t"}).as_object().cloned().unwrap());
//! assert_eq!(req.method(), "tools/call");
//! assert!(req.notifier().is_none() && req.param_headers().is_empty());
//! ```

use std::sync::{Arc, Mutex, PoisonError};

use agent_gateway_core::BoxError;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::{Failure, UpstreamCode, UpstreamError};
use agent_gateway_core::run::RUN_BUDGET_HEADER;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use tower::util::BoxCloneSyncService;

use crate::McpError;
use crate::connector::ConnectorError;
use crate::method::McpMethod;
use crate::notify::Notifier;
use crate::request::{ClientHop, McpRequestParts, Owner};

/// The `_meta` key prefix of the MCP protocol's own per-hop keys.
const PROTOCOL_META_PREFIX: &str = "io.modelcontextprotocol/";

/// One request to one upstream server.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    method: McpMethod,
    params: Map<String, Value>,
    notifier: Option<Notifier>,
    client: Option<ClientHop>,
    param_headers: Vec<(HeaderName, HeaderValue)>,
    run_budget: Option<HeaderValue>,
    answered_by: Option<AnsweredBy>,
}

/// Two requests are equal when their method and parameters are: the notifier is where the
/// answer's notifications go, not part of the request.
impl PartialEq for UpstreamRequest {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.params == other.params
    }
}

impl UpstreamRequest {
    /// A request for `method` with `params`.
    pub fn new(method: impl Into<McpMethod>, params: Map<String, Value>) -> Self {
        UpstreamRequest {
            method: method.into(),
            params,
            notifier: None,
            client: None,
            param_headers: Vec::new(),
            run_budget: None,
            answered_by: None,
        }
    }

    /// Asks the [`Pool`](crate::connector::Pool) that serves this request to say in `slot`
    /// which of its instances answered (for the audit record). A single connector says nothing.
    pub fn with_answered_by(mut self, slot: AnsweredBy) -> Self {
        self.answered_by = Some(slot);
        self
    }

    /// Where a pool says which instance answered, if the router asked.
    pub fn answered_by(&self) -> Option<&AnsweredBy> {
        self.answered_by.as_ref()
    }

    /// What a router sends upstream for a client's request: its method and parameters (moved,
    /// not copied), the [`Notifier`] and [`ClientHop`] the front put in its extensions, the
    /// hop bound to the caller (see [`ClientHop::with_owner`]), and the run budget header the
    /// run layer wrote for this call. No other header is carried, credentials least of all.
    /// The gateway's trace context (a [`TraceParent`](agent_gateway_core::trace::TraceParent) in
    /// the extensions, put there by the policy crate's `TraceLayer`) goes in
    /// `params._meta.traceparent`, where the MCP spec reserves it, and the HTTP connectors also
    /// send it as the W3C header.
    pub fn from_request(mut parts: McpRequestParts) -> Self {
        if let Some(trace) = parts
            .extensions
            .get::<agent_gateway_core::trace::TraceParent>()
        {
            set_trace(&mut parts.params, trace);
        }
        let owner = parts
            .extensions
            .get::<agent_gateway_core::Caller>()
            .map(Owner::of);
        let client = parts
            .extensions
            .get::<ClientHop>()
            .cloned()
            .map(|hop| hop.with_owner(owner));
        UpstreamRequest::new(parts.method, parts.params)
            .with_notifier(parts.extensions.get::<Notifier>().cloned())
            .with_client(client)
            .with_run_budget(parts.headers.get(RUN_BUDGET_HEADER).cloned())
    }

    /// Sends `value` as the [`RUN_BUDGET_HEADER`] (the run's signed remainder, which the run
    /// layer verified and re-signed for this hop; it holds no credential), so an MCP server
    /// that calls back through the gateway stays inside the run.
    pub fn with_run_budget(mut self, value: Option<HeaderValue>) -> Self {
        self.run_budget = value;
        self
    }

    /// The run budget header to send, if the call is inside a run.
    pub fn run_budget(&self) -> Option<&HeaderValue> {
        self.run_budget.as_ref()
    }

    /// Sends these `Mcp-Param-*` headers (modern upstreams): mirrored tool arguments, the only
    /// headers a request carries upstream. Any other header name is ignored.
    pub fn with_param_headers(mut self, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        self.param_headers = headers
            .into_iter()
            .filter(|(n, _)| n.as_str().starts_with("mcp-param-"))
            .collect();
        self
    }

    /// The `Mcp-Param-*` headers to send.
    pub fn param_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.param_headers
    }

    /// Tells the upstream what the client declared on its hop (capabilities, log level).
    pub fn with_client(mut self, client: Option<ClientHop>) -> Self {
        self.client = client;
        self
    }

    /// What the client declared on its hop, if known.
    pub fn client(&self) -> Option<&ClientHop> {
        self.client.as_ref()
    }

    /// Relays the upstream's progress and log notifications for this request with `notifier`.
    pub fn with_notifier(mut self, notifier: Option<Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Where the upstream's notifications for this request go, if the client listens.
    pub fn notifier(&self) -> Option<&Notifier> {
        self.notifier.as_ref()
    }

    /// The method, decoded (compares with a wire name: `req.method() == "tools/call"`).
    pub fn method(&self) -> &McpMethod {
        &self.method
    }

    /// The method's wire name, as `method().as_str()`.
    pub fn method_name(&self) -> &str {
        self.method.as_str()
    }

    /// The parameters.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.params
    }

    /// Drops the client's protocol `_meta` keys (`io.modelcontextprotocol/…`: version,
    /// capabilities, client info), which describe the client-to-gateway hop; the connector
    /// writes its own for the hop upstream. Other keys (progress tokens, trace context) stay.
    pub(crate) fn drop_client_protocol_meta(&mut self) {
        if let Some(Value::Object(meta)) = self.params.get_mut("_meta") {
            meta.retain(|k, _| !k.starts_with(PROTOCOL_META_PREFIX));
            if meta.is_empty() {
                self.params.remove("_meta");
            }
        }
    }

    /// The method and parameters (the notifier is dropped).
    pub fn into_parts(self) -> (McpMethod, Map<String, Value>) {
        (self.method, self.params)
    }

    /// Everything a connector writes on the wire, moved out rather than copied.
    pub(crate) fn into_hop(self) -> Hop {
        Hop {
            method: self.method,
            params: self.params,
            notifier: self.notifier,
            client: self.client,
            param_headers: self.param_headers,
            run_budget: self.run_budget,
        }
    }
}

/// Which instance of a [`Pool`](crate::connector::Pool) answered a request: the router puts
/// one in the request ([`UpstreamRequest::with_answered_by`]), the pool's instance that
/// answers fills it (the last to answer, when a read was retried elsewhere or a call took
/// several rounds), and the router names that instance in the response's
/// [`ServedBy`](agent_gateway_core::response::ServedBy). Clones share the slot.
///
/// ```
/// use agent_gateway_mcp::upstream::AnsweredBy;
///
/// let slot = AnsweredBy::default();
/// assert_eq!(slot.instance(), None);
/// slot.clone().set(Some("tools-2".into()));
/// assert_eq!(slot.instance().as_deref(), Some("tools-2"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct AnsweredBy(Arc<Mutex<Option<Arc<str>>>>);

impl AnsweredBy {
    /// Says `instance` answered, or (`None`) that the last attempt got no answer.
    pub fn set(&self, instance: Option<Arc<str>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = instance;
    }

    /// The instance that answered, if one did.
    pub fn instance(&self) -> Option<Arc<str>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Tags an error an upstream's service (a connector, a pool) returned as the upstream's doing
/// ([`UpstreamError`]): its JSON-RPC error, its HTTP error status, no answer in time, or none
/// at all. Anything else (a denial, the gateway's own refusal) is returned as it is, and so is
/// an error already tagged.
pub(crate) fn tag_upstream(error: BoxError) -> BoxError {
    if UpstreamError::find(&*error).is_some() {
        return error;
    }
    let (failure, code) = match cause_ref::<McpError>(&*error) {
        Some(McpError::Upstream(e)) => (Failure::Upstream, Some(UpstreamCode::jsonrpc(e.code))),
        Some(McpError::UpstreamTimeout { .. }) => (Failure::Timeout, None),
        Some(McpError::UpstreamUnavailable { .. }) => (Failure::Unavailable, None),
        Some(_) => return error,
        None => match http_status(&*error) {
            Some(status) => (Failure::Upstream, Some(UpstreamCode::http(status))),
            None => return error,
        },
    };
    let tagged = UpstreamError::new(failure, error);
    Box::new(match code {
        Some(code) => tagged.with_code(code),
        None => tagged,
    })
}

/// The HTTP error status an upstream answered with and no JSON-RPC response, if that is what
/// `error` says.
pub(crate) fn http_status(error: &(dyn std::error::Error + 'static)) -> Option<http::StatusCode> {
    match cause_ref::<ConnectorError>(error) {
        Some(ConnectorError::Status(status)) => Some(*status),
        _ => None,
    }
}

/// An [`UpstreamRequest`] taken apart by a connector (see [`UpstreamRequest::into_hop`]).
#[derive(Debug)]
pub(crate) struct Hop {
    pub(crate) method: McpMethod,
    pub(crate) params: Map<String, Value>,
    pub(crate) notifier: Option<Notifier>,
    pub(crate) client: Option<ClientHop>,
    pub(crate) param_headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) run_budget: Option<HeaderValue>,
}

/// Puts the gateway's `trace` in `params._meta.traceparent`, unless the client's own there is
/// of another trace (one the gateway's span did not continue: the client's trace is kept).
fn set_trace(params: &mut Map<String, Value>, trace: &agent_gateway_core::trace::TraceParent) {
    use agent_gateway_core::trace::{TRACEPARENT, TraceParent};
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return;
    };
    let theirs = meta
        .get(TRACEPARENT)
        .and_then(Value::as_str)
        .and_then(TraceParent::parse);
    if theirs.is_none_or(|t| t.trace_id_bytes() == trace.trace_id_bytes()) {
        meta.insert(TRACEPARENT.into(), Value::String(trace.to_string()));
    }
}

/// A type-erased upstream: a result object, or an error.
pub type BoxUpstream = BoxCloneSyncService<UpstreamRequest, Map<String, Value>, BoxError>;
