//! The front's response future: it reads and decodes the body, calls the inner service and
//! renders the answer or the error, so it never fails.
//!
//! ```
//! use agent_gateway_llm::front::future::ResponseFuture;
//! use agent_gateway_llm::router::{Deployment, LlmRouter};
//! use agent_gateway_llm::provider::OpenAiProvider;
//! use agent_gateway_llm::testkit::FakeProvider;
//! use agent_gateway_llm::LlmFront;
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use tower::{Service, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let router = LlmRouter::builder()
//!     .provider("oai", OpenAiProvider::new(FakeProvider::new(), "http://oai.test/v1").unwrap())
//!     .alias("fast", Deployment::new("oai", "gpt-up"))
//!     .build()
//!     .unwrap();
//! let mut front = LlmFront::new(router);
//! let post = |body: &'static str| {
//!     http::Request::post("/v1/chat/completions")
//!         .header("content-type", "application/json")
//!         .body(Full::new(Bytes::from_static(body.as_bytes())))
//!         .unwrap()
//! };
//! let ready = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut front).await.unwrap();
//! let fut: ResponseFuture = ready.call(post(
//!     r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#,
//! ));
//! assert_eq!(fut.await.unwrap().status(), 200);
//! let ready = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut front).await.unwrap();
//! let unknown = ready.call(post(r#"{"model":"slow","messages":[]}"#));
//! assert_eq!(unknown.await.unwrap().status(), 404);
//! # });
//! ```

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
