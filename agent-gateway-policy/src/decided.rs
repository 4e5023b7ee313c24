//! Decided in `call`: the response future shared by the layers that decide synchronously
//! ([`Authorize`](crate::authorize::Authorize), [`Checked`](crate::check::Checked),
//! [`Guard`](crate::guard::Guard)), ready at once with the denial, or the inner call's future
//! whose listing is filtered (or whose response is checked) when it arrives.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::response::Item;
use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Caller, Denied};
use pin_project_lite::pin_project;

/// What filters a listing response once it arrives: keeps only what the caller may see, and
/// returns how many items went. Built in `call`, while the request is still at hand.
pub(crate) type Listing = Box<dyn FnOnce(&mut dyn AgentResponse) -> usize + Send>;

/// What checks a response once it arrives, and may refuse it (a response-side guardrail).
/// Built in `call`, while the request is still at hand.
pub(crate) type Check = Box<dyn FnOnce(&mut dyn AgentResponse) -> Result<(), BoxError> + Send>;

/// Which listed items a caller may see: `true` keeps the item.
pub type ItemFilter = std::sync::Arc<dyn Fn(Option<&Caller>, &Item<'_>) -> bool + Send + Sync>;

/// The [`Listing`] for `req` when it is a listing and a filter is set: the filter sees the
/// caller, kept because the request moves on to the inner service.
pub(crate) fn listing<R: AgentRequest + ?Sized>(
    items: Option<&ItemFilter>,
    req: &R,
) -> Option<Listing> {
    let keep = items.filter(|_| req.action().is_listing())?.clone();
    let caller = req.caller().cloned();
    Some(Box::new(move |response: &mut dyn AgentResponse| {
        let removed = response.retain_items(&mut |item| keep(caller.as_ref(), item));
        tracing::debug!(removed, "check: listing filtered");
        removed
    }))
}

/// Filters `response` with `listing`, if any.
pub(crate) fn filter<T: AgentResponse>(response: &mut T, listing: Option<Listing>) {
    if let Some(listing) = listing {
        listing(response);
    }
}

pin_project! {
    /// Either the denial, ready at once, or the inner service's future, whose listing
    /// response is filtered for the caller when it arrives; see the [module docs](self).
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
            listing: Option<Listing>,
        },
        Checked {
            #[pin]
            future: F,
            check: Option<Check>,
        },
        Denied {
            denied: Option<Denied>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F, listing: Option<Listing>) -> Self {
        ResponseFuture {
            kind: Kind::Called { future, listing },
        }
    }

    pub(crate) fn checked(future: F, check: Check) -> Self {
        ResponseFuture {
            kind: Kind::Checked {
                future,
                check: Some(check),
            },
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
            KindProj::Called { future, listing } => {
                let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                filter(&mut response, listing.take());
                Poll::Ready(Ok(response))
            }
            KindProj::Checked { future, check } => {
                let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                // Fail closed if polled again after the check was taken.
                let Some(check) = check.take() else {
                    return Poll::Ready(Err(Box::new(Denied::forbidden(
                        "future polled after completion",
                    ))));
                };
                Poll::Ready(check(&mut response).map(|()| response))
            }
            KindProj::Denied { denied } => {
                // Fail closed if polled again after the denial was taken.
                let denied = denied
                    .take()
                    .unwrap_or_else(|| Denied::forbidden("future polled after completion"));
                Poll::Ready(Err(Box::new(denied)))
            }
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Called { .. } | Kind::Checked { .. } => "called",
            Kind::Denied { .. } => "denied",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}
