//! Quotas: requests and tokens per window, keyed by any [extractor](crate::key), refused with a
//! `Retry-After` before the upstream is called.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::time::Duration;
//! use agent_gateway_core::clock::ManualClock;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, Call, Caller, Denied, Usage};
//! use agent_gateway_policy::key::CallerId;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clock = ManualClock::new();
//! let layer = QuotaLayer::new(MemoryStore::with_clock(clock.shared()))
//!     .with_limit(Limit::requests("rps", CallerId, Rate::per_second(NonZeroU64::new(2).unwrap())));
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, Denied>(Reply::with_usage(json!("ok"), Usage::step())));
//! let svc = || ServiceBuilder::new().layer(layer.clone()).service(upstream.clone());
//! let call = || Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("alice"));
//!
//! // Allowed: two calls per second, and both may come at once.
//! assert!(svc().oneshot(call()).await.is_ok());
//! assert!(svc().oneshot(call()).await.is_ok());
//! // Denied: the third must wait half a second, and never reaches the upstream.
//! let err = svc().oneshot(call()).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.retry_after(), Some(Duration::from_millis(500)));
//! assert_eq!(denied.rule(), Some("rps"));
//! assert_eq!(upstream.calls(), 2);
//!
//! clock.advance(Duration::from_millis(500));
//! assert!(svc().oneshot(call()).await.is_ok());
//! # }
//! ```
//!
//! # GCRA by default, fixed windows when the count must be exact
//!
//! Each [`Limit`] is decided with one atomic store operation, so concurrent requests, on one
//! gateway or on several replicas sharing a Redis store, can never push a key past its limit.
//! The default algorithm is GCRA ([`CounterStore::take`](agent_gateway_core::store::CounterStore::take)):
//! capacity comes back steadily, one unit every `period / limit`, so a client that waited half
//! the period has half its allowance back, and the `Retry-After` of a denial is exact. A fixed
//! window ([`Algorithm::FixedWindow`]) instead counts what happened since the window opened and
//! forgets it when the window closes. It is the right tool when the number must match an
//! invoice ("a million tokens per day"), but it lets a client spend two windows' worth around a
//! window edge, and sends every refused client back at the same instant, when it resets.
//!
//! # Tokens are admitted on an estimate and settled after the fact
//!
//! How many tokens a model call uses is known only when its response, or its stream, ends. A
//! token limit therefore charges the request's
//! [estimate](agent_gateway_core::AgentRequest::estimated_input_tokens) (plus an optional
//! [output allowance](Limit::with_output_allowance)) before calling the upstream, and when the
//! response's [`UsageReport`](agent_gateway_core::UsageReport) completes it settles the
//! difference: a call that used more than its estimate puts the key into debt, so the next
//! calls wait longer; one that used less gets the rest back. The settlement runs on a spawned
//! task: the response, and above all a stream, is never held up by the store. A call whose inner
//! service fails keeps its estimate charged.
//!
//! # Which requests a limit counts
//!
//! Every request that reaches the layer, unless the limit is scoped with
//! [`Limit::with_actions`]. Fronts pass housekeeping through the stack too (MCP `initialize`,
//! `notifications/initialized` and `ping` as [`Action::Protocol`](agent_gateway_core::Action::Protocol),
//! and listings such as `tools/list`), so an unscoped limit of a few requests a minute starves
//! a legacy MCP client before its first tool call. A limit scoped to, say, tool calls and model
//! calls lets every other request pass uncounted (even one without a key).
//!
//! # Failing closed
//!
//! If the store cannot answer, nobody knows whether the key is within its limit. The layer then
//! refuses the request with [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable),
//! because an outage of the limiter must not turn into unlimited traffic to a paid upstream.
//! [`QuotaLayer::fail_open`] chooses the opposite, explicitly, and counts every request it let
//! through unchecked.
//!
//! A request for which a limit's key cannot be extracted is refused too, unless that limit says
//! [`MissingKey::Skip`](crate::key::MissingKey::Skip); see [`key`](crate::key).

pub mod future;

mod admit;
mod layer;
mod limit;
#[cfg(test)]
pub(crate) mod tests;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Usage};
use tower::Service;

pub use self::layer::QuotaLayer;
pub use self::limit::{Algorithm, Limit, Unit};

use self::admit::Shared;
use self::future::ResponseFuture;
use crate::admit::OnUsage;

/// Refuses requests that exceed any of its layer's [`Limit`]s, before they reach the inner
/// service; see the [module docs](self).
pub struct Quota<S> {
    inner: S,
    /// `None` in a [`PolicyStack`](crate::stack::PolicyStack) step without this layer.
    shared: Option<Arc<Shared>>,
}

impl<S> Quota<S> {
    fn from_shared(inner: S, shared: Arc<Shared>) -> Self {
        Quota {
            inner,
            shared: Some(shared),
        }
    }

    /// A pass-through step: calls `inner` as it is, counting nothing.
    pub(crate) fn pass(inner: S) -> Self {
        Quota {
            inner,
            shared: None,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the quota, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for Quota<S> {
    fn clone(&self) -> Self {
        Quota {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Quota<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quota")
            .field("inner", &self.inner)
            .field("limits", &self.shared.as_ref().map(|s| &s.limits))
            .finish()
    }
}

impl<S, R> Service<R> for Quota<S>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    S::Response: AgentResponse,
    R: AgentRequest + Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let Some(shared) = &self.shared else {
            return ResponseFuture::passed(self.inner.call(req));
        };
        let planned = shared.plan(&req);
        let shared = shared.clone();
        crate::admit::call(&mut self.inner, req, async move {
            let settlements = shared.admit(planned?).await?;
            Ok((!settlements.is_empty()).then(|| {
                Box::new(move |usage: &Usage| {
                    for settlement in settlements {
                        settlement.settle(usage);
                    }
                }) as OnUsage
            }))
        })
    }
}
