//! The response future of [`RenderDenied`](super::RenderDenied).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use crate::BoxError;
use crate::body::GatewayBody;

pin_project! {
    /// The inner service's response, or its error rendered as one.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        challenge: HeaderValue,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, challenge: HeaderValue) -> Self {
        ResponseFuture { inner, challenge }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<GatewayBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(Ok(match ready!(this.inner.poll(cx)) {
            Ok(res) => res.map(GatewayBody::new),
            Err(err) => {
                let err: BoxError = err.into();
                super::error_response(err.as_ref(), this.challenge)
            }
        }))
    }
}
