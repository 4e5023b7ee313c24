use std::fmt;
use std::sync::Arc;

use agent_gateway_core::store::{MemoryStore, Rate};
use tower::Layer;

use super::{DEFAULT_UNAUTHENTICATED_RATE, PreAuth, Shared};
use crate::auth::AuthLayer;

/// Wraps an HTTP service in [`PreAuth`]: authenticates from the headers before the body is
/// read, with the authenticator, mode and credential headers of an [`AuthLayer`], and renders
/// refusals with `R`.
///
/// The authenticator and the unauthenticated-rate counters are shared by every service the
/// layer wraps (and with the [`AuthLayer`] it was made from).
#[must_use]
pub struct PreAuthLayer<A: ?Sized, R> {
    shared: Shared<A, R>,
}

impl<A: crate::auth::Authenticator + ?Sized, R> PreAuthLayer<A, R> {
    /// A layer authenticating as `auth` does, rendering refusals with `render`, and limiting
    /// unauthenticated requests to [`DEFAULT_UNAUTHENTICATED_RATE`] per client address.
    pub fn new(auth: &AuthLayer<A>, render: R) -> Self {
        PreAuthLayer {
            shared: Shared {
                authenticator: auth.shared_authenticator(),
                names: auth.credential_headers().into(),
                mode: auth.mode(),
                render: Arc::new(render),
                limit: Some((MemoryStore::new(), DEFAULT_UNAUTHENTICATED_RATE)),
            },
        }
    }

    /// Limits unauthenticated requests per client address to `rate`, counted in `store`
    /// (share one store to share the counters between layers).
    pub fn with_unauthenticated_limit(mut self, store: MemoryStore, rate: Rate) -> Self {
        self.shared.limit = Some((store, rate));
        self
    }

    /// Turns the unauthenticated rate limit off, e.g. behind a proxy that already limits per
    /// client address (here every request would share the proxy's address).
    pub fn without_unauthenticated_limit(mut self) -> Self {
        self.shared.limit = None;
        self
    }
}

impl<A: ?Sized, R> Clone for PreAuthLayer<A, R> {
    fn clone(&self) -> Self {
        PreAuthLayer {
            shared: self.shared.clone(),
        }
    }
}

impl<S, A: ?Sized, R> Layer<S> for PreAuthLayer<A, R> {
    type Service = PreAuth<S, A, R>;

    fn layer(&self, inner: S) -> Self::Service {
        PreAuth {
            inner,
            shared: self.shared.clone(),
        }
    }
}

impl<A: ?Sized, R> fmt::Debug for PreAuthLayer<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuthLayer")
            .field("mode", &self.shared.mode)
            .field("names", &self.shared.names)
            .field("limit", &self.shared.limit.as_ref().map(|(_, rate)| rate))
            .finish_non_exhaustive()
    }
}
