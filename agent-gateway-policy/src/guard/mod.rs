//! Guardrails: checks on what flows through the gateway (tool arguments against their schema,
//! deny rules, size limits, tool-definition pinning, PII filters), each passing, rewriting or
//! blocking requests, responses and streamed text.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, DeniedKind};
//! use agent_gateway_policy::guard::{DenyRules, GuardLayer, Verdict};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let stack = ServiceBuilder::new()
//!     .layer(
//!         GuardLayer::new()
//!             // Built in: keyword and regex rules with ids.
//!             .with(DenyRules::new().keyword("no-drop", "drop table").unwrap())
//!             // Your own: a closure over the request.
//!             .with(|req: &mut dyn AgentRequest| match req.target() {
//!                 Some("fs.rm") => Verdict::block("no-rm"),
//!                 _ => Verdict::Pass,
//!             }),
//!     )
//!     .service(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("done"))) }));
//! let call = |target: &str, sql: &str| {
//!     Call::new(Action::ToolCall, json!({"sql": sql})).with_target(target)
//! };
//!
//! let ok = stack.clone().oneshot(call("db.query", "select 1")).await.unwrap();
//! assert_eq!(ok.into_output(), json!("done"));
//!
//! let err = stack.clone().oneshot(call("db.query", "DROP TABLE users")).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.kind(), &DeniedKind::GuardrailBlocked { rule_id: "no-drop".into() });
//! let err = stack.oneshot(call("fs.rm", "")).await.unwrap_err();
//! assert_eq!(Denied::find(err.as_ref()).unwrap().rule(), Some("no-rm"));
//! # });
//! ```
//!
//! # How a guardrail runs
//!
//! A [`Guardrail`] has three sides, each defaulting to pass:
//! - [`on_request`](Guardrail::on_request) before the upstream: it may rewrite the arguments
//!   in place ([`AgentRequest::arguments_mut`]; the protocol re-encodes the request from them)
//!   or block. A block never reaches the upstream.
//! - [`on_response`](Guardrail::on_response) on a whole response: it may rewrite the output
//!   ([`AgentResponse::output_mut`]), block it, or learn from it (a `tools/list` teaches the
//!   schema check its schemas and the pins their hashes).
//! - [`text_filter`](Guardrail::text_filter) for streamed text: the layer hands the response
//!   one [`TextFilter`](agent_gateway_core::content::TextFilter) (several guardrails' filters
//!   chained) through [`AgentResponse::filter_text`], and the protocol runs it as the stream
//!   passes, without buffering it. PII redaction plugs in here.
//!
//! Guardrails run in the order they were added; the first block wins. A block is a
//! [`Denied`](agent_gateway_core::Denied) of kind [`GuardrailBlocked`](agent_gateway_core::DeniedKind::GuardrailBlocked)
//! with the rule id, which every front renders in its wire format (and audit reads). The rule
//! ids of request rewrites are recorded in the request's [`Rewritten`] extension.
//! [`Scoped`] limits a guardrail to protocols, callers and targets, and runs it enforced or in
//! warn mode.
//!
//! # Built in
//! - [`SchemaCheck`]: tool arguments against the tool's `inputSchema`, `structuredContent`
//!   against its `outputSchema`, both learned from `tools/list`.
//! - [`DenyRules`]: keyword and regex rules on arguments, prompts and outputs, and on streamed
//!   text as it passes ([`DenyFilter`]).
//! - [`SizeLimits`]: per-string and total limits, rejecting or trimming.
//! - [`DataSchemas`]: an agent's data parts (A2A), sent and answered, against the schemas the
//!   agent declares per media type, in its card or in config.
//! - [`ToolCallSchemas`]: a model's tool calls against the request's own tool definitions,
//!   on whole and streamed answers (warn by default).
//! - [`Pins`]: a hash of each tool's definition, recorded at first sight or pinned; a change
//!   is flagged, or blocked until approved (see [`admin`]).
//! - [`PiiGuard`](pii::PiiGuard): PII and secrets redacted or blocked in arguments, outputs
//!   and streamed text (see [`pii`]).

pub mod admin;
mod data;
mod deny;
pub mod future;
mod json;
mod layer;
pub mod pii;
mod pin;
mod schema;
mod scope;
mod size;
#[cfg(test)]
mod tests;
mod tool_calls;
mod verdict;

use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, AgentResponse, BoxError};
use tower::Service;

pub use self::data::{DATA_IN_RULE, DATA_OUT_RULE, DataSchemas, MAX_DECLARING_AGENTS};
pub use self::deny::{DenyError, DenyFilter, DenyRules, MAX_RULE_SIZE, MAX_STREAM_HOLD};
use self::future::ResponseFuture;
pub use self::layer::GuardLayer;
use self::layer::Rails;
pub use self::pin::{
    GUARDRAIL_WARNING_HEADER, MAX_PINNED_TOOLS, PIN_RULE, PinError, PinMode, PinStatus, Pins,
    ToolDigest,
};
pub use self::schema::{
    INPUT_RULE, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, MAX_TOOLS, OUTPUT_RULE, SchemaCheck,
};
pub use self::scope::{Mode, Scope, Scoped};
pub use self::size::{FIELD_RULE, Oversize, SizeLimits, TOTAL_RULE};
pub use self::tool_calls::{TOOL_CALL_RULE, ToolCallSchemas};
pub use self::verdict::{Block, Exchange, Guardrail, OnResponse, Verdict};

/// A response-side guardrail from a closure over the [`Exchange`] and the response.
pub fn on_response<F>(f: F) -> OnResponse<F>
where
    F: Fn(&Exchange, &mut dyn AgentResponse) -> Verdict + Send + Sync + 'static,
{
    OnResponse(f)
}

/// The ids of the rewrites a request's arguments went through, in its extensions: what tells
/// audit to read the arguments again.
///
/// This is a contract open to any layer, not only guardrails. The audit record reads a call's
/// arguments once, when the call enters the [`AuditLayer`](crate::audit::AuditLayer), and an
/// [`AuditTap`](crate::audit::AuditTap) further in reads them again only when this extension
/// changed since (reading them means serialising them whole, so it is not done per tap
/// otherwise). A layer of your own that rewrites arguments through
/// [`AgentRequest::arguments_mut`] calls [`Rewritten::note`] with an id of its choosing, and
/// the record then holds the arguments as they went upstream. A layer that does not is not
/// noticed: the record keeps the arguments as the audit layer read them.
///
/// ```
/// use agent_gateway_core::{Action, AgentRequest, Call};
/// use agent_gateway_policy::guard::Rewritten;
/// use serde_json::json;
///
/// let mut call = Call::new(Action::ToolCall, json!({"path": "/home/ann/x"}));
/// // A custom layer that strips home directories, and says so.
/// if let Some(path) = call.arguments_mut().get_mut("path") {
///     *path = json!("~/x");
///     Rewritten::note(call.extensions_mut(), "strip-home");
/// }
/// assert_eq!(call.extensions().get::<Rewritten>(), Some(&Rewritten(vec!["strip-home".into()])));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewritten(pub Vec<String>);

impl Rewritten {
    /// Records in `extensions` that the request's arguments were rewritten by `id`, after any
    /// rewrites recorded before (a guardrail's, another layer's).
    pub fn note(extensions: &mut http::Extensions, id: impl Into<String>) {
        match extensions.get_mut::<Rewritten>() {
            Some(Rewritten(ids)) => ids.push(id.into()),
            None => {
                extensions.insert(Rewritten(vec![id.into()]));
            }
        }
    }
}

/// Runs guardrails on the requests it passes on and the responses it gets back; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    /// `None` in a [`PolicyStack`](crate::stack::PolicyStack) step without guardrails.
    rails: Option<Rails>,
}

impl<S> Guard<S> {
    /// Wraps `inner`, running the guardrails of `layer`.
    pub fn new(inner: S, layer: &GuardLayer) -> Self {
        tower::Layer::layer(layer, inner)
    }

    pub(crate) fn from_rails(inner: S, rails: Rails) -> Self {
        Guard {
            inner,
            rails: Some(rails),
        }
    }

    /// A pass-through step: calls `inner` as it is, checking nothing.
    pub(crate) fn pass(inner: S) -> Self {
        Guard { inner, rails: None }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R> Service<R> for Guard<S>
where
    R: AgentRequest,
    S: Service<R>,
    S::Response: AgentResponse,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Never Pending for a policy reason: the checks run in `call`.
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: R) -> Self::Future {
        let Some(rails) = &self.rails else {
            return ResponseFuture::called(self.inner.call(request), None);
        };
        // Synchronous checks, no I/O: the inner service made ready above is the one called.
        let mut rewritten = Vec::new();
        for rail in rails.iter() {
            match rail.on_request(&mut request) {
                Verdict::Pass => {}
                Verdict::Mutated { rule_id } => rewritten.push(rule_id),
                Verdict::Block(block) => {
                    tracing::debug!(
                        rule = block.rule_id(),
                        action = %request.action(),
                        target = request.target().unwrap_or(""),
                        "guardrail: request blocked"
                    );
                    return ResponseFuture::denied(block.into_denied());
                }
            }
        }
        for id in rewritten {
            Rewritten::note(request.extensions_mut(), id);
        }
        // The exchange is kept (its target and caller copied) only when a guardrail will look
        // at the response.
        if !rails.iter().any(|rail| rail.watches(&request)) {
            return ResponseFuture::called(self.inner.call(request), None);
        }
        let mut exchange = Exchange::of(&request);
        for rail in rails.iter() {
            rail.prepare(&request, &mut exchange);
        }
        let rails = Arc::clone(rails);
        ResponseFuture::checked(
            self.inner.call(request),
            Box::new(move |response| future::check_response(&rails, &exchange, response)),
        )
    }
}
