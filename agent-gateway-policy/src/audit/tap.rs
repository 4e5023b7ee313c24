//! [`AuditTap`]: refreshes, further into the stack, the record an outer [`Audit`](super::Audit)
//! is building, so the record has the caller, run id and redactions the inner layers add.

use std::task::{Context, Poll};

use agent_gateway_core::AgentRequest;
use tower::{Layer, Service};

use super::ticket::Ticket;

/// Refreshes the outer [`Audit`](super::Audit)'s record of each request from the request as it
/// is here: place it after the layers that set the caller (auth), the run id (run) and redact
/// arguments (guardrails). It also records the caller and run id on the call's
/// [`CallSpan`](crate::telemetry::CallSpan), when an outer
/// [`TraceLayer`](crate::telemetry::TraceLayer) opened one, and the caller on the call's
/// [`CallMeter`](crate::metrics::CallMeter), when an outer
/// [`MetricsLayer`](crate::metrics::MetricsLayer) counts it. Without any outer layer it
/// does nothing. See the [module docs](super#where-it-goes).
#[derive(Debug, Clone)]
pub struct AuditTap<S> {
    inner: S,
}

impl<S> AuditTap<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        AuditTap { inner }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the tap, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R> Service<R> for AuditTap<S>
where
    S: Service<R>,
    R: AgentRequest,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        if let Some(ticket) = req.extensions().get::<Ticket>() {
            ticket.refresh(&req);
        }
        if let Some(span) = req.extensions().get::<crate::telemetry::CallSpan>() {
            span.refresh(&req);
        }
        if let Some(meter) = req.extensions().get::<crate::metrics::CallMeter>() {
            meter.refresh(&req);
        }
        self.inner.call(req)
    }
}

/// Wraps services in an [`AuditTap`].
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct AuditTapLayer;

impl<S> Layer<S> for AuditTapLayer {
    type Service = AuditTap<S>;

    fn layer(&self, inner: S) -> AuditTap<S> {
        AuditTap::new(inner)
    }
}
