//! The [`ResponseFuture`] of [`Metered`](super::Metered): runs the call, then counts it, now
//! or when the response's stream ends.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, Usage};
//! use agent_gateway_policy::metrics::Metrics;
//! use agent_gateway_policy::metrics::future::ResponseFuture;
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let metrics = Metrics::new();
//! let mut svc = metrics.layer()
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step())) }));
//! let fut: ResponseFuture<_> = svc.ready().await.unwrap().call(Call::new(Action::ToolCall, json!({})));
//! assert_eq!(fut.await.unwrap().into_output(), json!("ok"));
//! assert!(metrics.render().contains(r#"agw_requests_total{protocol="call",action="tool_call",outcome="ok"} 1"#));
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::response::AgentResponse;
use agent_gateway_core::response::Outcome;
use agent_gateway_core::{BoxError, Usage};
use pin_project_lite::pin_project;

use super::Meter;

pin_project! {
    /// The inner call; counted when it resolves (or, for a stream, when the stream ends). See
    /// the [module docs](self).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        meter: Option<Meter>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, meter: Option<Meter>) -> Self {
        ResponseFuture { inner, meter }
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
        let this = self.project();
        let result = ready!(this.inner.poll(cx)).map_err(Into::into);
        if let Some(meter) = this.meter.take() {
            match &result {
                Ok(response) => match response.usage_report() {
                    Some(report) => {
                        report.on_complete(move |usage, outcome| meter.ended(usage, outcome))
                    }
                    None => meter.ended(&Usage::default(), Outcome::Complete),
                },
                Err(error) => meter.refused(error),
            }
        }
        Poll::Ready(result)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("metered", &self.meter.is_some())
            .finish_non_exhaustive()
    }
}
