//! [`Future`] types: the [`ResponseFuture`] of [`Guard`](super::Guard), ready at once with the
//! denial when a request-side guardrail blocks, else the inner call's future, whose response
//! the response-side guardrails check (and whose text they filter) when it arrives.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use agent_gateway_core::content::TextFilter;
use agent_gateway_core::{AgentResponse, BoxError, Denied};
use pin_project_lite::pin_project;

use super::layer::Rails;
use super::verdict::{Chain, Exchange, Verdict};

pin_project! {
    /// The response future of [`Guard`](super::Guard); see the [module docs](self).
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
            rails: Rails,
            exchange: Option<Exchange>,
        },
        Denied {
            denied: Option<Denied>,
        },
        Passed {
            #[pin]
            future: F,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F, rails: Rails, exchange: Exchange) -> Self {
        ResponseFuture {
            kind: Kind::Called {
                future,
                rails,
                exchange: Some(exchange),
            },
        }
    }

    /// The inner call's `future` as it is, for a stack without guardrails.
    pub(crate) fn passed(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Passed { future },
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
            KindProj::Called {
                future,
                rails,
                exchange,
            } => {
                let mut response = ready!(future.poll(cx)).map_err(Into::into)?;
                let Some(exchange) = exchange.take() else {
                    return Poll::Ready(Err(Box::new(Denied::forbidden(
                        "future polled after completion",
                    ))));
                };
                Poll::Ready(check_response(rails, &exchange, &mut response).map(|()| response))
            }
            KindProj::Denied { denied } => {
                // Fail closed if polled again after the denial was taken.
                let denied = denied
                    .take()
                    .unwrap_or_else(|| Denied::forbidden("future polled after completion"));
                Poll::Ready(Err(Box::new(denied)))
            }
            KindProj::Passed { future } => future.poll(cx).map_err(Into::into),
        }
    }
}

/// Runs the response-side guardrails on `response`, then hands it their text filters.
fn check_response<T: AgentResponse>(
    rails: &Rails,
    exchange: &Exchange,
    response: &mut T,
) -> Result<(), BoxError> {
    let mut filters: Vec<Box<dyn TextFilter>> = Vec::new();
    for rail in rails.iter() {
        match rail.on_response(exchange, response) {
            Verdict::Pass => {}
            Verdict::Mutated { rule_id } => {
                tracing::debug!(rule = %rule_id, action = %exchange.action(), "guardrail: response rewritten");
            }
            Verdict::Block(block) => {
                tracing::debug!(rule = block.rule_id(), action = %exchange.action(), "guardrail: response blocked");
                return Err(Box::new(block.into_denied()));
            }
        }
        filters.extend(rail.text_filter(exchange));
    }
    let filter: Box<dyn TextFilter> = match filters.len() {
        0 => return Ok(()),
        1 => filters.remove(0),
        _ => Box::new(Chain(filters)),
    };
    // A response with no text to filter (a listing, an error) gives the filter back: nothing
    // it could have changed goes to the client.
    let _unused = response.filter_text(filter);
    Ok(())
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Called { .. } => "called",
            Kind::Denied { .. } => "denied",
            Kind::Passed { .. } => "passed",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish()
    }
}
