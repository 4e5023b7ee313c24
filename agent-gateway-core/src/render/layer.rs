//! [`RenderDeniedLayer`]: [`RenderDenied`] as a layer.

use http::HeaderValue;
use tower::Layer;

use super::RenderDenied;

/// Wraps a service in [`RenderDenied`].
#[derive(Debug, Clone)]
#[must_use]
pub struct RenderDeniedLayer {
    challenge: HeaderValue,
}

impl RenderDeniedLayer {
    /// A layer challenging 401s with `Bearer`.
    pub fn new() -> Self {
        RenderDeniedLayer {
            challenge: HeaderValue::from_static("Bearer"),
        }
    }

    /// See [`RenderDenied::with_www_authenticate`].
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.challenge = challenge;
        self
    }
}

impl Default for RenderDeniedLayer {
    fn default() -> Self {
        RenderDeniedLayer::new()
    }
}

impl<S> Layer<S> for RenderDeniedLayer {
    type Service = RenderDenied<S>;

    fn layer(&self, inner: S) -> RenderDenied<S> {
        RenderDenied::new(inner).with_www_authenticate(self.challenge.clone())
    }
}
