//! [`A2aFrontLayer`]: the front as a tower layer over the user's stack.

use std::sync::Arc;

use tower::Layer;

use super::{A2aFront, A2aFrontConfig};

/// Wraps a stack of `Service<A2aRequest>` in an [`A2aFront`]. The settings are built once and
/// shared by every front the layer makes.
#[derive(Debug, Clone)]
#[must_use]
pub struct A2aFrontLayer {
    config: Arc<A2aFrontConfig>,
}

impl A2aFrontLayer {
    /// A layer making fronts with `config`.
    pub fn new(config: A2aFrontConfig) -> Self {
        A2aFrontLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for A2aFrontLayer {
    type Service = A2aFront<S>;

    fn layer(&self, inner: S) -> A2aFront<S> {
        A2aFront {
            inner,
            config: self.config.clone(),
        }
    }
}
