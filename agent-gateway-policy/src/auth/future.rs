//! The future of the [`Auth`](super::Auth) service.
//!
//! ```
//! use agent_gateway_core::{Action, BoxError, Call};
//! use agent_gateway_policy::auth::future::ResponseFuture;
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer};
//! use tower::{Layer, Service, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut svc = AuthLayer::new(ApiKeys::new())
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>("ok") }));
//! // No credential: the future resolves to a denial without calling the inner service.
//! let fut: ResponseFuture<_> = svc.call(Call::new(Action::ToolCall, Default::default()));
//! assert!(fut.await.is_err());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::BoxError;
use pin_project_lite::pin_project;

/// Authentication, which ends with the inner service called: its future.
pub(super) type Authenticating<F> = Pin<Box<dyn Future<Output = Result<F, BoxError>> + Send>>;

pin_project! {
    /// Authenticates the request, then runs the inner service's future `F`; resolves to the
    /// inner response or a [`Denied`](agent_gateway_core::Denied) in a `BoxError`.
    ///
    /// Authentication is boxed because it may wait on I/O (a JWKS fetch) before the inner call
    /// exists; a stack without auth passes the inner future through, unboxed.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Authenticating {
            authenticating: Authenticating<F>,
        },
        Calling {
            #[pin]
            future: F,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn authenticating(authenticating: Authenticating<F>) -> Self {
        ResponseFuture {
            state: State::Authenticating { authenticating },
        }
    }

    pub(super) fn passed(future: F) -> Self {
        ResponseFuture {
            state: State::Calling { future },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Authenticating { authenticating } => {
                    let future = ready!(authenticating.as_mut().poll(cx))?;
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    return future.poll(cx).map_err(Into::into);
                }
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Authenticating { .. } => "authenticating",
            State::Calling { .. } => "calling",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
