use std::sync::Arc;

use tower::Layer;

use super::Guard;
use super::verdict::Guardrail;

/// The guardrails of a [`Guard`], in the order they run.
pub(crate) type Rails = Arc<Vec<Arc<dyn Guardrail>>>;

/// Runs guardrails on every request, response and stream, through a [`Guard`] service.
///
/// The guardrails (and whatever they learn: schemas, pins) are created with the layer and
/// shared by every service it wraps, so `Router::layer` calling [`layer`](Layer::layer) once
/// per route copies a pointer.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct GuardLayer {
    rails: Rails,
}

impl GuardLayer {
    /// A layer with no guardrail yet: it passes everything.
    pub fn new() -> Self {
        GuardLayer::default()
    }

    /// Adds `guardrail`, run after the ones added before it.
    pub fn with(self, guardrail: impl Guardrail) -> Self {
        self.with_shared(Arc::new(guardrail))
    }

    /// Adds a guardrail shared with other code (a [`Pins`](super::Pins) table the admin
    /// router also holds, say).
    pub fn with_shared(mut self, guardrail: Arc<dyn Guardrail>) -> Self {
        Arc::make_mut(&mut self.rails).push(guardrail);
        self
    }

    /// How many guardrails run.
    pub fn len(&self) -> usize {
        self.rails.len()
    }

    /// Whether no guardrail runs.
    pub fn is_empty(&self) -> bool {
        self.rails.is_empty()
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard::from_rails(inner, self.rails.clone())
    }
}
