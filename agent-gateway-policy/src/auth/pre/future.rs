//! The future of the [`PreAuth`](super::PreAuth) service.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::Denied;
//! use agent_gateway_policy::auth::pre::future::ResponseFuture;
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, PreAuthLayer};
//! use http::{Request, Response};
//! use tower::{Layer, Service, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let render = |_: &http::request::Parts, d: &Denied| {
//!     let mut res = Response::new(());
//!     *res.status_mut() = d.http_status();
//!     res
//! };
//! let mut svc = PreAuthLayer::new(&AuthLayer::new(ApiKeys::new()), render)
//!     .layer(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) }));
//! // No credential: the future resolves to the rendered 401, without calling the inner service.
//! let fut: ResponseFuture<()> = svc.call(Request::new(()));
//! assert_eq!(fut.await.unwrap().status(), 401);
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<Response<T>, Infallible>> + Send>>;

/// Authenticates the request's headers, then runs the inner service or answers the refusal.
///
/// It is boxed because authentication may wait on I/O (a JWKS fetch) before the inner call
/// exists.
pub struct ResponseFuture<T> {
    inner: BoxFuture<T>,
}

impl<T> ResponseFuture<T> {
    pub(super) fn new(
        inner: impl Future<Output = Result<Response<T>, Infallible>> + Send + 'static,
    ) -> Self {
        ResponseFuture {
            inner: Box::pin(inner),
        }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<Response<T>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
