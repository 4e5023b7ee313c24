//! The front as a layer.

use tower::Layer;

use super::{DEFAULT_MAX_BODY_BYTES, LlmFront};

/// Wraps a service of [`LlmRequest`](crate::LlmRequest)s in an [`LlmFront`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct LlmFrontLayer {
    max_body_bytes: usize,
}

impl LlmFrontLayer {
    /// A layer with the default body limit.
    pub fn new() -> Self {
        LlmFrontLayer {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Sets the request body limit, in bytes.
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }
}

impl Default for LlmFrontLayer {
    fn default() -> Self {
        LlmFrontLayer::new()
    }
}

impl<S> Layer<S> for LlmFrontLayer {
    type Service = LlmFront<S>;

    fn layer(&self, inner: S) -> LlmFront<S> {
        LlmFront::new(inner).with_max_body_bytes(self.max_body_bytes)
    }
}
