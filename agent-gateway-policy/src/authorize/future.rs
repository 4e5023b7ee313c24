//! [`Future`] types.

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
