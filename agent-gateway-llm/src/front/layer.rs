//! The front as a layer.

use std::sync::Arc;

use tower::Layer;

use super::{LlmFront, LlmFrontConfig};

/// Wraps a service of [`LlmRequest`](crate::LlmRequest)s in an [`LlmFront`]. The settings are
/// built once and shared by every front the layer makes.
///
/// ```
/// use agent_gateway_llm::front::{LlmFrontConfig, LlmFrontLayer};
/// use agent_gateway_llm::{LlmRequest, LlmResponse};
/// use agent_gateway_core::BoxError;
/// use tower::{Layer, service_fn};
///
/// let layer = LlmFrontLayer::new(LlmFrontConfig::new().with_max_body(1024));
/// let front = layer.layer(service_fn(|_: LlmRequest| async {
///     Ok::<_, BoxError>(LlmResponse::models(["m"], "gw"))
/// }));
/// assert_eq!(front.config().max_body(), 1024);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LlmFrontLayer {
    config: Arc<LlmFrontConfig>,
}

impl LlmFrontLayer {
    /// A layer making fronts with `config`.
    pub fn new(config: LlmFrontConfig) -> Self {
        LlmFrontLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for LlmFrontLayer {
    type Service = LlmFront<S>;

    fn layer(&self, inner: S) -> LlmFront<S> {
        LlmFront {
            inner,
            config: self.config.clone(),
        }
    }
}
