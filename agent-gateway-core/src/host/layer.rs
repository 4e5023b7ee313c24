use std::fmt;
use std::sync::Arc;

use tower::Layer;

use super::{HostCheck, HostPolicy};

/// Wraps a service in [`HostCheck`] with a [`HostPolicy`] and the route's renderer for the 403.
#[must_use]
pub struct HostCheckLayer<R> {
    policy: Arc<HostPolicy>,
    render: Arc<R>,
}

impl<R> HostCheckLayer<R> {
    /// A layer checking requests against `policy`, rendering refusals with `render`.
    pub fn new(policy: HostPolicy, render: R) -> Self {
        HostCheckLayer {
            policy: Arc::new(policy),
            render: Arc::new(render),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }
}

impl<R> Clone for HostCheckLayer<R> {
    fn clone(&self) -> Self {
        HostCheckLayer {
            policy: Arc::clone(&self.policy),
            render: Arc::clone(&self.render),
        }
    }
}

impl<S, R> Layer<S> for HostCheckLayer<R> {
    type Service = HostCheck<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        HostCheck {
            inner,
            policy: Arc::clone(&self.policy),
            render: Arc::clone(&self.render),
        }
    }
}

impl<R> fmt::Debug for HostCheckLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCheckLayer")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
