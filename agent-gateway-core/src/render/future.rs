//! The response future of [`RenderDenied`](super::RenderDenied): the inner service's response,
//! or its error rendered as one, so the future never fails.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::render::{RenderDenied, future::ResponseFuture};
//! use agent_gateway_core::{BoxError, Denied};
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use tower::{Service, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut svc = RenderDenied::new(service_fn(|req: Request<Full<bytes::Bytes>>| async move {
//!     match req.uri().path() {
//!         "/ok" => Ok(Response::new(Full::new(bytes::Bytes::from("ok")))),
//!         _ => Err(BoxError::from(Denied::forbidden("not here"))),
//!     }
//! }));
//! // Allowed: the inner response, as it was.
//! let ok: ResponseFuture<_> = svc.ready().await.unwrap().call(Request::get("/ok").body(Full::default()).unwrap());
//! let res: Result<_, Infallible> = ok.await;
//! assert_eq!(res.unwrap().status(), 200);
//! // Denied: the error becomes a 403 response; the future itself cannot fail.
//! let denied = svc.ready().await.unwrap().call(Request::get("/admin").body(Full::default()).unwrap());
//! assert_eq!(denied.await.unwrap().status(), 403);
//! # }
//! ```

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
        state: State<F>,
        challenge: HeaderValue,
    }
}

pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F> {
        Called { #[pin] inner: F },
        NotReady { err: Option<BoxError> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, challenge: HeaderValue) -> Self {
        ResponseFuture {
            state: State::Called { inner },
            challenge,
        }
    }

    pub(crate) fn failed(err: BoxError, challenge: HeaderValue) -> Self {
        ResponseFuture {
            state: State::NotReady { err: Some(err) },
            challenge,
        }
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
        let err: BoxError = match this.state.project() {
            StateProj::Called { inner } => match ready!(inner.poll(cx)) {
                Ok(res) => return Poll::Ready(Ok(res.map(GatewayBody::new))),
                Err(err) => err.into(),
            },
            StateProj::NotReady { err } => err
                .take()
                .unwrap_or_else(|| BoxError::from("response future polled after completion")),
        };
        Poll::Ready(Ok(super::error_response(err.as_ref(), this.challenge)))
    }
}
