//! [`McpFrontLayer`]: wraps the user's policy stack and router in an [`McpFront`].

use std::sync::Arc;

use tower::Layer;

use super::McpFront;
use super::config::FrontConfig;

/// Wraps a `Service<McpRequest>` in an [`McpFront`] sharing one [`FrontConfig`].
#[derive(Debug, Clone)]
#[must_use]
pub struct McpFrontLayer {
    config: Arc<FrontConfig>,
}

impl McpFrontLayer {
    /// A layer serving with `config`.
    pub fn new(config: FrontConfig) -> Self {
        McpFrontLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for McpFrontLayer {
    type Service = McpFront<S>;

    fn layer(&self, inner: S) -> McpFront<S> {
        McpFront::from_shared(inner, self.config.clone())
    }
}
