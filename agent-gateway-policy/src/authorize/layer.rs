use tower::Layer;

use super::Authorize;
use super::rules::Policy;

/// Applies a [`Policy`] to every request, and to every listing it gets back.
///
/// The compiled policy is shared by every service the layer makes, so `Router::layer` calling
/// [`layer`](Layer::layer) once per route compiles nothing and copies two pointers.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthorizeLayer {
    policy: Policy,
}

impl AuthorizeLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: Policy) -> Self {
        AuthorizeLayer { policy }
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize::new(inner, self.policy.clone())
    }
}
