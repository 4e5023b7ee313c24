//! The OpenTelemetry bridge (feature `otel`): each call's trace context is its exported span's,
//! so the `traceparent` upstreams receive names the very span a collector shows.
//!
//! With a [`tracing_opentelemetry`] layer installed, [`OtelPropagate`] makes the call's
//! OpenTelemetry span a child of the incoming `traceparent` (a remote parent) and hands its own
//! ids to [`TraceLayer`](super::TraceLayer). Without one (no exporter configured) it behaves as
//! [`W3c`]: a child of the incoming context, or a new trace.
//!
//! ```
//! use agent_gateway_core::trace::TraceParent;
//! use agent_gateway_policy::telemetry::Propagate;
//! use agent_gateway_policy::telemetry::otel::OtelPropagate;
//!
//! // No OpenTelemetry layer here: the plain W3C behaviour.
//! let incoming = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! let span = tracing::info_span!("call");
//! let ours = OtelPropagate.propagate(&span, incoming);
//! assert_eq!(ours.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_ne!(ours.span_id(), "00f067aa0ba902b7");
//! ```

use agent_gateway_core::trace::TraceParent;
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{Propagate, W3c};

/// A [`Propagate`] whose context is the call's OpenTelemetry span; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct OtelPropagate;

impl Propagate for OtelPropagate {
    fn propagate(&self, span: &tracing::Span, incoming: Option<TraceParent>) -> TraceParent {
        if let Some(parent) = incoming {
            // Fails only when no OpenTelemetry layer sees the span: the fallback below.
            let _ = span.set_parent(remote(&parent));
        }
        let context = span.context();
        let ours = context.span().span_context().clone();
        let ids = ours.is_valid().then(|| {
            TraceParent::new(
                ours.trace_id().to_bytes(),
                ours.span_id().to_bytes(),
                ours.is_sampled(),
            )
        });
        ids.flatten()
            .unwrap_or_else(|| W3c.propagate(span, incoming))
    }
}

/// An OpenTelemetry context whose (remote) span is `parent`.
fn remote(parent: &TraceParent) -> Context {
    let flags = if parent.sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let span = SpanContext::new(
        TraceId::from_bytes(parent.trace_id_bytes()),
        SpanId::from_bytes(parent.span_id_bytes()),
        flags,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span)
}
