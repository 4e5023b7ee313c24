//! The [`ResponseFuture`] of [`Traced`](super::Traced): runs the call inside its span, then
//! records the decision and, now or when the response's stream ends, its usage.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call};
//! use agent_gateway_policy::telemetry::TraceLayer;
//! use agent_gateway_policy::telemetry::future::ResponseFuture;
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut svc = TraceLayer::new()
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("ok"))) }));
//! let fut: ResponseFuture<_> = svc.ready().await.unwrap().call(Call::new(Action::ToolCall, json!({})));
//! assert_eq!(fut.await.unwrap().into_output(), json!("ok"));
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::BoxError;
use agent_gateway_core::response::AgentResponse;
use pin_project_lite::pin_project;
use tracing::Span;
use tracing::instrument::Instrumented;

use super::span;

pin_project! {
    /// The inner call, polled inside the call's span; see the [module docs](self).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        protocol: &'static str,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: Instrumented<F>, protocol: &'static str) -> Self {
        ResponseFuture { inner, protocol }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    T: AgentResponse,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let result = ready!(this.inner.as_mut().poll(cx)).map_err(Into::into);
        let span: Span = this.inner.span().clone();
        match &result {
            Ok(response) => span::answered(span, this.protocol, response),
            Err(error) => span::refused(&span, error),
        }
        Poll::Ready(result)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("span", &self.inner.span().id())
            .finish()
    }
}
