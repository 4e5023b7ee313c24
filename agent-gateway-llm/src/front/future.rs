//! The front's response future.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use crate::LlmBody;

type Boxed = Pin<Box<dyn Future<Output = Result<Response<LlmBody>, Infallible>> + Send>>;

/// The future of [`LlmFront`](super::LlmFront): reads and decodes the body, calls the inner
/// service, and renders the answer or the error. It never fails.
pub struct ResponseFuture {
    inner: Boxed,
}

impl ResponseFuture {
    pub(super) fn new(
        fut: impl Future<Output = Result<Response<LlmBody>, Infallible>> + Send + 'static,
    ) -> Self {
        ResponseFuture {
            inner: Box::pin(fut),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<LlmBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
