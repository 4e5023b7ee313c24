//! [`Future`] types: the [`ResponseFuture`] of [`Authorize`](super::Authorize), ready at once
//! with the denial when the policy refuses, else the inner call's future.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Denied};
//! use agent_gateway_policy::authorize::{Authorize, Rules, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let policy = Rules::new().allow_targets("reads", ["fs.read_*"]).compile().unwrap();
//! let mut svc = Authorize::new(
//!     service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("ok"))) }),
//!     policy,
//! );
//! let call = |target: &str| {
//!     Call::new(Action::ToolCall, json!({})).with_target(target).with_caller(Caller::new("bob"))
//! };
//!
//! let allowed: ResponseFuture<_> = svc.ready().await.unwrap().call(call("fs.read_file"));
//! assert_eq!(allowed.await.unwrap().into_output(), json!("ok"));
//!
//! let denied = svc.ready().await.unwrap().call(call("fs.write_file")).await.unwrap_err();
//! assert_eq!(Denied::find(denied.as_ref()).and_then(Denied::rule), Some("default-deny"));
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::{AgentResponse, BoxError, Denied};
use pin_project_lite::pin_project;

use super::filter::ListFilter;

pin_project! {
    /// Response future of [`Authorize`](super::Authorize).
    ///
    /// Either the denial, ready at once, or the inner service's future, whose listing
    /// response is filtered for the caller when it arrives.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Called {
            #[pin]
            future: F,
            filter: Option<ListFilter>,
        },
        Denied {
            denied: Option<Denied>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F, filter: Option<ListFilter>) -> Self {
        ResponseFuture {
            kind: Kind::Called { future, filter },
        }
    }

    pub(crate) fn denied(denied: Denied) -> Self {
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
                if let Some(filter) = filter.take() {
                    filter.apply(&mut response);
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Denied { denied } => {
                let denied = denied.take().unwrap_or_else(|| {
                    Denied::forbidden("authorize future polled after completion")
                });
                Poll::Ready(Err(Box::new(denied)))
            }
        }
    }
}
