//! Run budgets that follow a run across agents, and loop detection within a run.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::run::{RUN_BUDGET_HEADER, RUN_ID_HEADER};
//! use agent_gateway_core::store::MemoryStore;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, DeniedKind, Secret};
//! use agent_gateway_policy::run::{HopKey, HopKeys, RunLayer, RunLimits};
//! use http::HeaderValue;
//! use serde_json::json;
//! use tower::{Layer, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let key = HopKey::new("k1", Secret::new(vec![7; 32])).unwrap();
//! let layer = RunLayer::new(MemoryStore::new())
//!     .with_limits(RunLimits::new().with_tool_calls(2))
//!     .with_keys(HopKeys::new(key));
//! // The upstream sees the signed remainder the gateway adds for the next hop.
//! let upstream = FakeUpstream::new(|call: Call| {
//!     assert!(call.headers().contains_key(RUN_BUDGET_HEADER));
//!     Ok::<_, BoxError>(Reply::new(json!("ok")))
//! });
//! let svc = layer.layer(upstream.clone());
//! let call = |n: u32| {
//!     let mut call = Call::new(Action::ToolCall, json!({"n": n})).with_target("search");
//!     call.headers_mut().insert(RUN_ID_HEADER, HeaderValue::from_static("run-1"));
//!     call
//! };
//!
//! // Allowed: two tool calls in run-1.
//! assert!(svc.clone().oneshot(call(1)).await.is_ok());
//! assert!(svc.clone().oneshot(call(2)).await.is_ok());
//! // Denied: the third, naming the limit it hit.
//! let err = svc.clone().oneshot(call(3)).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.kind(), &DeniedKind::BudgetExhausted);
//! assert_eq!(denied.rule(), Some("run.tool_calls"));
//! assert_eq!(upstream.calls(), 2);
//! # });
//! ```
//!
//! # Which run a call belongs to
//!
//! A **run** is one agent workflow. The layer finds a call's run, in this order:
//!
//! 1. a valid signed budget header ([`RUN_BUDGET_HEADER`]),
//!    which names the run, the hop depth and what is left;
//! 2. else the [`RunSource`]s, in order (by default: the explicit `agw-run-id` header, the MCP
//!    session, the A2A context or task, the W3C trace id of `traceparent`);
//! 3. else, for a step (a tool, model or agent call), a new run of its own.
//!
//! The run id is set on the request ([`AgentRequest::run_id`])
//! for every later layer (audit, metrics) and, with [`RunLayer::resolver`] placed before the
//! rules, for CEL (`run`). The [`PolicyStack`](crate::stack::PolicyStack) does both.
//!
//! # The remainder travels with the call
//!
//! Every step admitted in a run is forwarded upstream with a fresh budget header, signed with
//! HMAC-SHA256 under the configured [`HopKey`]: the run id, the depth plus one, an expiry, the
//! agents the run went through, and what is left of each limit. An agent that calls back
//! through the gateway copies the header onto those calls, exactly as it copies `traceparent`.
//! A call with the header is limited by the smaller of its caller's own limits and the
//! remainder: a sub-agent cannot raise its budget, and its usage counts against the run too.
//! A forged or altered header, one signed with an unknown key, or one replayed after its
//! expiry is refused (`run.header`). Rotate keys with [`HopKeys::with_previous`].
//!
//! Dropping the header is the obvious escape, so the strictest rule applies to it: a caller
//! named with [`RunLayer::with_agent`] (an agent that only ever acts inside runs the gateway
//! handed it) is refused without one (`run.header_missing`). Any other caller without a header
//! starts at depth 0 under its own limits in the run its sources name.
//!
//! # Limits and counters
//!
//! [`RunLimits`]: steps, tool calls, model calls, depth, tokens, cost and wall time, each
//! optional, with per-caller limits ([`RunLayer::with_caller_limits`]). Counted limits take one
//! atomic [`incr_within`](agent_gateway_core::store::CounterStore::incr_within) each, on the
//! run's key and on the hop's, so two replicas sharing a Redis store hold one limit. Tokens and
//! cost are charged when the response (or stream) ends, and a call is admitted while any is
//! left. A run's keys expire [`DEFAULT_STATE_TTL`] after their first use, which bounds the
//! state of the in-memory store. Exhaustion is
//! [`DeniedKind::BudgetExhausted`](agent_gateway_core::DeniedKind::BudgetExhausted), with the
//! limit named in the message and in the rule id (`run.tool_calls`), which each protocol front
//! renders as its own error.
//!
//! # Loops
//!
//! [`Loops`]: the same tool with the same arguments (hashed canonically), or the same model
//! request, repeated N times within a window (`run.loop.tool`, `run.loop.model`), and an
//! agent hop back to an agent already on the run's path, A→B→A (`run.loop.hop_cycle`). In
//! [`LoopMode::Block`] the call is refused with that rule id; in [`LoopMode::Warn`] it is logged,
//! counted ([`RunLayer::loop_warnings`], [`RunLayer::warnings`]) and let through, and the call's
//! answer says so in the response header [`RUN_WARNING_HEADER`]
//! (`agw-run-warning: run.loop.tool`, several rules comma-separated). The header is added
//! through the [`PolicyHeaders`](agent_gateway_core::response::PolicyHeaders) a protocol front
//! attaches to the request, which the [audit layer](crate::audit) reads too: the call's audit
//! record lists the rule in its `warnings`.

pub mod future;

mod decide;
mod layer;
mod limits;
mod loops;
mod resolve;
mod shared;
#[cfg(test)]
mod tests;
mod token;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::run::RUN_BUDGET_HEADER;
use agent_gateway_core::{AgentRequest, AgentResponse, BoxError};
use tower::Service;

pub use self::layer::{ResolveRunLayer, RunLayer};
pub use self::limits::{LimitName, RunLimits, counts_as_step};
pub use self::loops::{
    DEFAULT_LOOP_REPEATS, DEFAULT_LOOP_WINDOW, LoopMode, Loops, RULE_HOP_CYCLE,
    RULE_REPEATED_MODEL, RULE_REPEATED_TOOL, RUN_WARNING_HEADER, canonical_hash,
};
pub use self::resolve::RunSource;
pub use self::shared::{DEFAULT_HEADER_TTL, DEFAULT_STATE_TTL, RunScope};
pub use self::token::{Hop, HopError, HopKey, HopKeys, InvalidHopKey, MAX_PATH, MAX_TOKEN_LEN};

use self::decide::Plan;
use self::future::ResponseFuture;
use self::shared::Shared;

/// A run service: its inner service, and the run layer's state (`None` in a
/// [`PolicyStack`](crate::stack::PolicyStack) step without run budgets), with the methods both
/// of the layer's services have.
macro_rules! run_service {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<S> {
            inner: S,
            shared: Option<Arc<Shared>>,
        }

        impl<S> $name<S> {
            fn from_shared(inner: S, shared: Arc<Shared>) -> Self {
                $name {
                    inner,
                    shared: Some(shared),
                }
            }

            /// A pass-through step: calls `inner` as it is.
            pub(crate) fn pass(inner: S) -> Self {
                $name {
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

            /// Consumes the service, returning the inner service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }

        impl<S: Clone> Clone for $name<S> {
            fn clone(&self) -> Self {
                $name {
                    inner: self.inner.clone(),
                    shared: self.shared.clone(),
                }
            }
        }

        impl<S: fmt::Debug> fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("inner", &self.inner)
                    .finish_non_exhaustive()
            }
        }
    };
}

run_service!(
    /// Counts each call against its run's limits; see the [module docs](self).
    Run
);

run_service!(
    /// Finds each call's run before the layers that read it; see [`RunLayer::resolver`].
    ResolveRun
);

impl<S, R> Service<R> for Run<S>
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

    fn call(&mut self, mut req: R) -> Self::Future {
        let Some(shared) = &self.shared else {
            return ResponseFuture::passed(self.inner.call(req));
        };
        let shared = shared.clone();
        let resolved = shared.resolve(&mut req);
        crate::admit::call_with(&mut self.inner, req, move |mut req| async move {
            resolved?;
            let Some(plan) = Plan::of(&shared, &req) else {
                return Ok((req, None));
            };
            let admitted = shared.admit(plan).await?;
            if let Some(header) = admitted.header {
                req.headers_mut().insert(RUN_BUDGET_HEADER, header);
            }
            Ok((req, admitted.on_usage))
        })
    }
}

impl<S, R> Service<R> for ResolveRun<S>
where
    R: AgentRequest,
    S: Service<R>,
    S::Response: AgentResponse,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = crate::decided::ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let Some(shared) = &self.shared else {
            return crate::decided::ResponseFuture::called(self.inner.call(req), None);
        };
        match shared.resolve(&mut req) {
            Ok(()) => crate::decided::ResponseFuture::called(self.inner.call(req), None),
            Err(denied) => crate::decided::ResponseFuture::denied(denied),
        }
    }
}
