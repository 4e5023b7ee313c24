//! Telemetry over the seam: one tracing span per call, with the OpenTelemetry GenAI, MCP and
//! A2A attributes, the caller, run, decision and rule, continuing the caller's W3C trace and
//! handing the gateway's own trace context to upstreams.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::trace::TraceParent;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied};
//! use agent_gateway_policy::ServiceBuilderExt;
//! use agent_gateway_policy::telemetry::TraceLayer;
//! use http::{HeaderMap, HeaderValue};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sent = Arc::new(Mutex::new(None));
//! let seen = sent.clone();
//! let upstream = FakeUpstream::new(move |call: Call| {
//!     *seen.lock().unwrap() = TraceParent::from_headers(call.headers());
//!     Ok::<_, BoxError>(Reply::new(json!("done")))
//! });
//! let stack = ServiceBuilder::new()
//!     .layer(TraceLayer::new())
//!     .check(|req: &dyn AgentRequest| match req.target() {
//!         Some("fs.delete") => Err(Denied::forbidden("no deletes").with_rule("no-deletes")),
//!         _ => Ok(()),
//!     })
//!     .service(upstream.clone());
//! let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
//! let call = |target: &str| {
//!     let mut headers = HeaderMap::new();
//!     headers.insert("traceparent", HeaderValue::from_static(incoming));
//!     Call::new(Action::ToolCall, json!({})).with_target(target).with_headers(headers)
//! };
//!
//! assert!(stack.clone().oneshot(call("fs.read")).await.is_ok());
//! // Upstream sees the same trace, under the gateway's span.
//! let sent = sent.lock().unwrap().unwrap();
//! assert_eq!(sent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_ne!(sent.span_id(), "00f067aa0ba902b7");
//! // A denial passes through unchanged (and is recorded on the span).
//! let err = stack.clone().oneshot(call("fs.delete")).await.unwrap_err();
//! assert_eq!(Denied::find(err.as_ref()).unwrap().rule(), Some("no-deletes"));
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```
//!
//! # Where it goes
//!
//! Outermost, so the span covers every layer and sees every denial. The caller and run id are
//! known only further in: the [`AuditTap`](crate::audit::AuditTap) that
//! [`PolicyStack`](crate::stack::PolicyStack) places after auth (and any other tap) records them
//! on the span it finds in the request's extensions, as a [`CallSpan`].
//!
//! # What the span holds
//!
//! The field names are in [`semconv`]. From the request: `gen_ai.operation.name`,
//! `gen_ai.request.model` (a model call's target), `gen_ai.tool.name` (a tool call's target),
//! `mcp.method.name` and `mcp.session.id`, `a2a.method`, `a2a.task.id` and `a2a.context.id`,
//! `agw.protocol`, `agw.caller`, `agw.run.id` and `trace_id`. From the response:
//! `agw.decision`, and for a denial `agw.rule.id` and `agw.denied.kind`; `gen_ai.provider.name`
//! (an LLM response's [`ServedBy`](agent_gateway_core::response::ServedBy)),
//! `gen_ai.response.model` (a whole response's `model`; for a stream, the model of the
//! deployment that served it), and `gen_ai.usage.input_tokens` and
//! `output_tokens` with `agw.outcome` from its [`UsageReport`](agent_gateway_core::UsageReport).
//! A streamed response's span stays open until its stream ends (a clone of it waits on the
//! report), so its duration and usage are the stream's; nothing is buffered. Spans are at
//! `INFO` level; no content (prompts, arguments) is ever recorded.
//!
//! # Trace context
//!
//! The call's context comes from a [`Propagate`]: by default [`W3c`], a child of a well-formed
//! incoming `traceparent` (or a new trace). It replaces the request's `traceparent` header
//! (a `tracestate` is kept only beside a valid `traceparent`) and goes in its extensions as a
//! [`TraceParent`], so connectors send upstream the gateway's span, not the client's. With the
//! `otel` feature, `otel::OtelPropagate` makes that context the exported OpenTelemetry span's.

pub mod future;
mod layer;
#[cfg(feature = "otel")]
pub mod otel;
pub mod semconv;
mod span;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::trace::{TRACEPARENT, TRACESTATE, TraceParent};
use agent_gateway_core::{AgentRequest, AgentResponse, BoxError};
use tower::Service;
use tracing::Instrument;

pub use self::layer::TraceLayer;
pub use self::span::CallSpan;

use self::future::ResponseFuture;

/// How a call's trace context is made from its span and the incoming `traceparent`.
pub trait Propagate: Send + Sync + 'static {
    /// The context of `span`, the call's new span, whose parent is `incoming` (the client's,
    /// when it sent a well-formed one).
    fn propagate(&self, span: &tracing::Span, incoming: Option<TraceParent>) -> TraceParent;
}

/// The default [`Propagate`]: a child of the incoming context, or a new trace.
#[derive(Debug, Clone, Copy, Default)]
pub struct W3c;

impl Propagate for W3c {
    fn propagate(&self, _: &tracing::Span, incoming: Option<TraceParent>) -> TraceParent {
        incoming.map_or_else(TraceParent::root, |parent| parent.child())
    }
}

/// Opens one span per call; see the [module docs](self).
#[derive(Clone)]
pub struct Traced<S> {
    inner: S,
    propagate: Arc<dyn Propagate>,
}

impl<S> Traced<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the service, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for Traced<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, R> Service<R> for Traced<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    S::Response: AgentResponse,
    R: AgentRequest,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let call = span::open(&req);
        let incoming = TraceParent::from_headers(req.headers());
        let context = self.propagate.propagate(call.span(), incoming);
        span::traced(call.span(), &context);
        let headers = req.headers_mut();
        if incoming.is_none() {
            headers.remove(TRACESTATE);
        }
        headers.insert(TRACEPARENT, context.to_header_value());
        req.extensions_mut().insert(context);
        let span = call.span().clone();
        req.extensions_mut().insert(call);
        let protocol = req.protocol();
        let inner = span.in_scope(|| self.inner.call(req));
        ResponseFuture::new(inner.instrument(span), protocol)
    }
}
