//! An MCP upstream served by several instances of one server: balanced by the power of two
//! choices on Peak-EWMA load, each instance behind a circuit breaker, idempotent calls retried
//! elsewhere within a budget, and legacy client sessions kept on one instance.
//!
//! A [`Pool`] is a `Service<UpstreamRequest>` like a single connector, so a federation
//! [`Member`](crate::router::federation::Member) (or [`Direct`](crate::router::Direct)) takes it
//! unchanged. It stands on core's [upstream plumbing](agent_gateway_core::upstream): a
//! [`Registry`](agent_gateway_core::upstream::Registry) of the instances, core's p2c pick, a
//! [`Breaker`] per instance and tower's [`TpsBudget`].
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::ManualClock;
//! use agent_gateway_core::upstream::breaker::{BreakerConfig, BreakerState};
//! use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
//! use agent_gateway_mcp::connector::pool::Pool;
//! use agent_gateway_mcp::error::Rendered;
//! use agent_gateway_mcp::testkit::FakeMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let (a, b) = (FakeMcpServer::new().with_echo_tool("echo"), FakeMcpServer::new().with_echo_tool("echo"));
//! let clock = ManualClock::new();
//! let pool = Pool::builder(UpstreamName::new("tools").unwrap())
//!     .instance(InstanceId::new("a").unwrap(), a.clone())
//!     .instance(InstanceId::new("b").unwrap(), b.clone())
//!     .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
//!     .with_clock(clock.shared())
//!     .with_seed(7)
//!     .build()
//!     .unwrap();
//! let list = || UpstreamRequest::new("tools/list", Map::new());
//! let call = || UpstreamRequest::new("tools/call", json!({"name": "echo"}).as_object().cloned().unwrap());
//!
//! // Allowed: with `a` down, every listing is still served (a failed attempt is retried on `b`).
//! a.set_down(true);
//! for _ in 0..10 {
//!     assert_eq!(pool.clone().oneshot(list()).await.unwrap()["tools"][0]["name"], "echo");
//! }
//! assert_eq!(pool.breaker("a").unwrap().state(), BreakerState::Open);
//! // A tool call is never retried: on `b` it succeeds, and `a` is ejected, so it lands there.
//! assert!(pool.clone().oneshot(call()).await.is_ok());
//!
//! // Denied: with both instances down, a clean JSON-RPC error naming the upstream.
//! b.set_down(true);
//! let err = pool.clone().oneshot(call()).await.unwrap_err();
//! assert_eq!(Rendered::from_error(&*err).error.code, -32010);
//!
//! // After the cooldown, a probe brings a recovered instance back.
//! a.set_down(false);
//! clock.advance(Duration::from_secs(30));
//! assert!(pool.clone().oneshot(list()).await.is_ok());
//! assert_eq!(pool.breaker("a").unwrap().state(), BreakerState::Closed);
//! # });
//! ```
//!
//! # What counts as a failure
//!
//! Only a failure of the instance itself: it could not be reached, answered with no
//! JSON-RPC response, or (for an idempotent call) did not answer within the attempt timeout.
//! A JSON-RPC error from the server (an unknown tool, a tool's own error) is an answer: it
//! reaches the caller as it is and counts as a success for the breaker, since retrying it on
//! a replica of the same server would get the same answer.
//!
//! # Why only idempotent methods are retried
//!
//! A failed `tools/call` may have run before its instance died: the tool may have sent the
//! email. Sending it again on another instance could run it twice, so the caller gets a
//! clean error ([`McpError::UpstreamUnavailable`](crate::McpError::UpstreamUnavailable),
//! `-32010`) and decides. Listings, reads, `ping`, `prompts/get` and completions
//! ([`IDEMPOTENT_METHODS`]) only read, so a pool retries them on an instance not tried yet,
//! while the retry budget allows: the budget caps the extra load at a share of recent
//! traffic, so that a pool whose instances are all failing is not hammered twice as hard
//! (core's [`retry`](agent_gateway_core::upstream::retry) module tells the story).
//!
//! # Sessions
//!
//! Modern MCP needs no session, so each call is balanced on its own. A legacy client's
//! session has an upstream session behind it, which a connector opens on the instance it
//! talks to and which only that instance knows. So a call carrying a client session key
//! ([`ClientHop::session`](crate::request::ClientHop::session)) goes to the first admissible
//! instance in that key's rendezvous order: always the same instance while it is healthy,
//! computed from the key and the instance ids, with no table to grow.
//! Requests that carry no client session (a modern client's, or a federation's merged
//! listings, which use the connector's shared session) are balanced call by call.
//!
//! When that instance dies (its breaker opens), the session's calls move to the next
//! instance in its order, the same one for every call of the session. The connector there
//! opens a new upstream session, initialized with the client's declared capabilities; what
//! the old upstream session held (resource subscriptions, a log level, any state the server
//! keeps per session) is lost, and the client is not told. When the first instance
//! recovers, the session's calls move back to it, and its connector resumes the upstream
//! session it kept, or opens a new one if the server forgot it.
//!
//! # Streams and calls in several rounds
//!
//! A listen stream (`subscriptions/listen`) is a call like any other: it goes to one
//! instance, is never retried, and ends if that instance dies; the client listens again and
//! lands on a healthy one. A call the upstream answers by asking the client for input is
//! sent again with the answers, and that second round is balanced on its own: it may reach
//! another instance, which works when, as the protocol asks, the server keeps what it needs
//! in the request state it hands out rather than in its own memory.
//!
//! # Readiness
//!
//! A pool is always ready: the instance is chosen in `call`, and its connector's readiness
//! is awaited inside the response future.

pub mod future;

mod builder;
mod idempotent;
mod replica;
mod route;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::upstream::balance::Balanced;
use agent_gateway_core::upstream::breaker::Breaker;
use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
use serde_json::{Map, Value};
use tower::Service;
use tower::retry::budget::{Budget, TpsBudget};

pub use self::builder::{DEFAULT_ATTEMPT_TIMEOUT, PoolBuilder, PoolError};
pub use self::idempotent::{IDEMPOTENT_METHODS, is_idempotent};

use self::future::{ResponseFuture, Retry};
use self::replica::{Health, Replica};
use crate::upstream::UpstreamRequest;

/// One MCP upstream served by several instances: a `Service<UpstreamRequest>`, like a single
/// connector. Made with [`Pool::builder`].
///
/// Cheap to clone: clones share the instances, their breakers and load estimates, and the
/// retry budget.
pub struct Pool {
    balanced: Balanced<Replica, Health>,
    budget: Option<Arc<TpsBudget>>,
}

impl Pool {
    /// A pool named `name` (its name in logs and in the errors clients see); add instances
    /// with [`PoolBuilder::instance`].
    pub fn builder(name: UpstreamName) -> PoolBuilder {
        PoolBuilder::new(name)
    }

    /// The pool's name.
    pub fn name(&self) -> &UpstreamName {
        self.balanced.upstream().name()
    }

    /// The instances' ids, in the order they were added.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceId> {
        self.balanced.upstream().instances().iter().map(|i| i.id())
    }

    /// The breaker of instance `id`.
    pub fn breaker(&self, id: &str) -> Option<&Breaker> {
        self.balanced.upstream().instance(id).map(|i| i.breaker())
    }

    /// The retry budget, if calls are retried.
    pub fn retry_budget(&self) -> Option<&Arc<TpsBudget>> {
        self.budget.as_ref()
    }
}

impl Service<UpstreamRequest> for Pool {
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let retry = self.budget.as_ref().and_then(|budget| {
            // Every call earns the budget its share; only idempotent ones may spend it.
            budget.deposit();
            is_idempotent(req.method_name())
                .then(|| Retry::new(self.clone(), budget.clone(), req.clone()))
        });
        let key = req.client().and_then(|c| c.session());
        let choice = self.choose(key, &[]).unwrap_or(route::Choice::Balanced);
        let attempt = self.dispatch(choice, req);
        ResponseFuture::new(attempt, retry, self.name().clone())
    }
}

impl Clone for Pool {
    fn clone(&self) -> Self {
        Pool {
            balanced: self.balanced.clone(),
            budget: self.budget.clone(),
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("upstream", self.balanced.upstream())
            .field("retries", &self.budget.is_some())
            .finish()
    }
}
