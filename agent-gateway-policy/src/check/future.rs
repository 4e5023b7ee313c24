//! [`Future`] types: the [`ResponseFuture`] of [`Checked`](super::Checked), ready at once with
//! the denial when the check refuses, else the inner call's future, whose listing is filtered.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied};
//! use agent_gateway_policy::check::{CheckLayer, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let layer = CheckLayer::new(|req: &dyn AgentRequest| match req.target() {
//!     Some("ok") => Ok(()),
//!     _ => Err(Denied::forbidden("only `ok`")),
//! });
//! let mut svc = layer.layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!(1))) }));
//! let call = |t: &str| Call::new(Action::ToolCall, json!({})).with_target(t);
//! let allowed: ResponseFuture<_> = svc.ready().await.unwrap().call(call("ok"));
//! assert_eq!(allowed.await.unwrap().into_output(), json!(1));
//! assert!(svc.ready().await.unwrap().call(call("no")).await.is_err());
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::{AgentResponse, BoxError, Caller, Denied};
use pin_project_lite::pin_project;

use super::ItemFilter;

/// The caller, kept for the listing filter once the request has moved on.
pub(super) type Filter = (Option<Caller>, ItemFilter);

pin_project! {
    /// Response future of [`Checked`](super::Checked).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called {
            #[pin]
            future: F,
            filter: Option<Filter>,
        },
        Denied {
            denied: Option<Denied>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn called(future: F, filter: Option<Filter>) -> Self {
        ResponseFuture {
            kind: Kind::Called { future, filter },
        }
    }

    pub(super) fn denied(denied: Denied) -> Self {
        ResponseFuture {
            kind: Kind::Denied {
                denied: Some(denied),
            },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    T: AgentResponse,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future, filter } => {
                let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                if let Some((caller, keep)) = filter.take() {
                    let removed = response.retain_items(&mut |item| keep(caller.as_ref(), item));
                    tracing::debug!(removed, "check: listing filtered");
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Denied { denied } => {
                let denied = denied
                    .take()
                    .unwrap_or_else(|| Denied::forbidden("check future polled after completion"));
                Poll::Ready(Err(Box::new(denied)))
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Called { .. } => "called",
            Kind::Denied { .. } => "denied",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}
