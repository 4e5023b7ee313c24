//! The future of the [`Auth`](super::Auth) service.
//!
//! ```
//! use agent_gateway_core::{Action, BoxError, Call};
//! use agent_gateway_policy::auth::future::ResponseFuture;
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer};
//! use tower::{Layer, Service, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut svc = AuthLayer::new(ApiKeys::new())
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>("ok") }));
//! // No credential: the future resolves to a denial without calling the inner service.
//! let fut: ResponseFuture<&str> = svc.call(Call::new(Action::ToolCall, Default::default()));
//! assert!(fut.await.is_err());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'static>>;

/// Authenticates the request, then runs the inner service's future; resolves to the inner
/// response or a [`Denied`](agent_gateway_core::Denied) in a `BoxError`.
///
/// It is boxed because authentication may wait on I/O (a JWKS fetch) before the inner call
/// exists.
pub struct ResponseFuture<T> {
    inner: BoxFuture<T>,
}

impl<T> ResponseFuture<T> {
    pub(super) fn new(inner: impl Future<Output = Result<T, BoxError>> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(inner),
        }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<T, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
