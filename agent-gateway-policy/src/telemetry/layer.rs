//! [`TraceLayer`]: one span per call, for every route and protocol it wraps.

use std::fmt;
use std::sync::Arc;

use tower::Layer;

use super::{Propagate, Traced, W3c};

/// Opens one span per call, continuing the caller's W3C trace, through a [`Traced`] service;
/// see the [module docs](super).
#[derive(Clone)]
#[must_use]
pub struct TraceLayer {
    propagate: Arc<dyn Propagate>,
}

impl TraceLayer {
    /// Spans whose trace context is [`W3c`]: a child of the incoming `traceparent`, or a new
    /// trace.
    pub fn new() -> Self {
        TraceLayer {
            propagate: Arc::new(W3c),
        }
    }

    /// Takes each call's trace context from `propagate` instead: an OpenTelemetry bridge makes
    /// the exported span's own ids the ones sent upstream.
    pub fn with_propagate(mut self, propagate: impl Propagate) -> Self {
        self.propagate = Arc::new(propagate);
        self
    }
}

impl Default for TraceLayer {
    fn default() -> Self {
        TraceLayer::new()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Traced<S> {
        Traced {
            inner,
            propagate: self.propagate.clone(),
        }
    }
}

impl fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer").finish_non_exhaustive()
    }
}
