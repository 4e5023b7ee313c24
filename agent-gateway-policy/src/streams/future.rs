//! The future of the [`StreamLimit`](super::StreamLimit) service.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::Denied;
//! use agent_gateway_policy::streams::StreamLimitLayer;
//! use http::{Request, Response};
//! use tower::{Layer, Service, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let render = |_: &http::request::Parts, d: &Denied| {
//!     let mut res = Response::new(String::new());
//!     *res.status_mut() = d.http_status();
//!     res
//! };
//! let mut svc = StreamLimitLayer::new(1, render)
//!     .layer(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new("x".to_owned())) }));
//! // No established caller: not counted, and answered by the inner service.
//! let res = svc.call(Request::new(())).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_ne!(res.status(), 429);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Response;
use http::header::CONTENT_TYPE;
use pin_project_lite::pin_project;

use super::{LimitedBody, Slot};

pin_project! {
    /// Resolves to the inner response with its body counted, or to the rendered refusal.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: Option<F>,
        refused: Option<Response<B>>,
        slot: Option<Slot>,
        max_lifetime: Duration,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn new(inner: F, slot: Option<Slot>, max_lifetime: Duration) -> Self {
        ResponseFuture {
            inner: Some(inner),
            refused: None,
            slot,
            max_lifetime,
        }
    }

    pub(super) fn refused(res: Response<B>) -> Self {
        ResponseFuture {
            inner: None,
            refused: Some(res),
            slot: None,
            max_lifetime: Duration::ZERO,
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<LimitedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            // Refused: no inner future, the response is ready (polled once).
            let res = this
                .refused
                .take()
                .map(|res| res.map(|b| LimitedBody::new(b, None, None)));
            return match res {
                Some(res) => Poll::Ready(Ok(res)),
                None => Poll::Pending,
            };
        };
        let res = std::task::ready!(inner.poll(cx))?;
        let stream = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        let deadline = stream.then(|| tokio::time::sleep(*this.max_lifetime));
        let slot = this.slot.take();
        Poll::Ready(Ok(res.map(|body| LimitedBody::new(body, slot, deadline))))
    }
}
