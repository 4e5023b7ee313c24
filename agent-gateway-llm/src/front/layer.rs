//! The front as a layer.

use tower::Layer;

use super::{DEFAULT_MAX_BODY, LlmFront};

/// Wraps a service of [`LlmRequest`](crate::LlmRequest)s in an [`LlmFront`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct LlmFrontLayer {
    max_body: usize,
}

impl LlmFrontLayer {
    /// A layer with the default body limit.
    pub fn new() -> Self {
        LlmFrontLayer {
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Sets the request body limit, in bytes.
    #[doc(alias = "with_max_body_bytes")]
    pub fn with_max_body(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }

    /// Sets the request body limit, in bytes.
    #[deprecated(note = "renamed `with_max_body`, as in the other fronts")]
    pub fn with_max_body_bytes(self, limit: usize) -> Self {
        self.with_max_body(limit)
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
        LlmFront::new(inner).with_max_body(self.max_body)
    }
}
