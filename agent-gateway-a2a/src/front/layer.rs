//! [`A2aFrontLayer`]: the front as a tower layer over the user's stack.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tower::Layer;

use super::{A2aFront, FrontConfig, InvalidPublicUrl};
use crate::webhook::WebhookAllowList;

/// Wraps a stack of `Service<A2aRequest>` in an [`A2aFront`]. The settings are built once and
/// shared by every front the layer makes.
#[derive(Debug, Clone)]
#[must_use]
pub struct A2aFrontLayer {
    config: Arc<FrontConfig>,
}

impl A2aFrontLayer {
    /// A layer for a front reachable at `public_url` (see [`A2aFront::new`]).
    pub fn new(public_url: &str) -> Result<Self, InvalidPublicUrl> {
        Ok(A2aFrontLayer {
            config: A2aFront::new((), public_url)?.config,
        })
    }

    /// See [`A2aFront::with_max_body`].
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).max_body = bytes;
        self
    }

    /// See [`A2aFront::with_card_max_age`].
    pub fn with_card_max_age(mut self, max_age: Duration) -> Self {
        Arc::make_mut(&mut self.config).card_max_age = max_age;
        self
    }

    /// See [`A2aFront::with_card_security`].
    pub fn with_card_security(mut self, schemes: Value, requirements: Value) -> Self {
        Arc::make_mut(&mut self.config).card_security = Some((schemes, requirements));
        self
    }

    /// See [`A2aFront::with_webhooks`].
    pub fn with_webhooks(mut self, webhooks: WebhookAllowList) -> Self {
        Arc::make_mut(&mut self.config).webhooks = webhooks;
        self
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
