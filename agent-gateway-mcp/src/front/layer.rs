//! [`McpFrontLayer`]: wraps the user's policy stack and router in an [`McpFront`].

use std::sync::Arc;

use tower::Layer;

use super::config::McpFrontConfig;
use super::{Front, McpFront};
use crate::session::SessionStore;

/// Wraps a `Service<McpRequest>` in an [`McpFront`]. Every front it makes shares one
/// [`McpFrontConfig`] and one [`SessionStore`], created with the layer (not in `layer()`), so
/// a session opened on one route is known on every route the layer wraps.
#[derive(Debug, Clone)]
#[must_use]
pub struct McpFrontLayer {
    front: Arc<Front>,
}

impl McpFrontLayer {
    /// A layer serving with `config`, with a session store of its own.
    pub fn new(config: McpFrontConfig) -> Self {
        McpFrontLayer {
            front: Arc::new(Front {
                config,
                store: Arc::default(),
            }),
        }
    }

    /// Keeps the live session tables in `store`.
    pub fn with_session_store(self, store: Arc<SessionStore>) -> Self {
        McpFrontLayer {
            front: Arc::new(Front {
                config: self.front.config.clone(),
                store,
            }),
        }
    }
}

impl<S> Layer<S> for McpFrontLayer {
    type Service = McpFront<S>;

    fn layer(&self, inner: S) -> McpFront<S> {
        McpFront::from_shared(inner, self.front.clone())
    }
}
