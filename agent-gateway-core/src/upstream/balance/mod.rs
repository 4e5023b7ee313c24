//! Balancing calls over the instances of one upstream: the power of two choices on a
//! Peak-EWMA latency estimate, skipping instances whose circuit breaker is open.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::clock::ManualClock;
//! use agent_gateway_core::upstream::breaker::BreakerConfig;
//! use agent_gateway_core::upstream::error::{NoHealthyInstance, find};
//! use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
//! use tower::{ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agent_gateway_core::BoxError> {
//! let agent = |id: &'static str| service_fn(move |fail: bool| async move {
//!     if fail { Err("agent crashed") } else { Ok(id) }
//! });
//! let name = UpstreamName::new("planner")?;
//! let registry = Registry::builder()
//!     .instance(name.clone(), InstanceId::new("a")?, agent("a"))
//!     .instance(name.clone(), InstanceId::new("b")?, agent("b"))
//!     .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
//!     .with_clock(ManualClock::new().shared())
//!     .build()?;
//! let planner = registry.balanced("planner")?;
//!
//! // Allowed: the call reaches one of the instances.
//! let served_by = planner.clone().oneshot(false).await?;
//! assert!(served_by == "a" || served_by == "b");
//! // Two failures open both breakers (the second call avoids the first, already open instance).
//! assert!(planner.clone().oneshot(true).await.is_err());
//! assert!(planner.clone().oneshot(true).await.is_err());
//! // Denied at once: no instance is admissible, and none is called.
//! let err = planner.oneshot(false).await.unwrap_err();
//! let denied = find::<NoHealthyInstance>(&*err).unwrap();
//! assert_eq!(denied.retry_after(), Some(Duration::from_secs(30)));
//! # Ok(())
//! # }
//! ```
//!
//! # Why the power of two choices
//!
//! Sending each call to the least loaded instance needs a global view that is stale by the
//! time it is read, and makes every caller pile onto the same "best" instance at once.
//! Round-robin ignores load entirely: one slow instance slows every n-th call. Drawing two
//! instances at random and taking the less loaded one avoids both: it almost never picks a
//! bad instance, yet spreads calls nearly as well as a perfect choice would ("The Power of Two
//! Choices in Randomized Load Balancing", Mitzenmacher). Load is tower's
//! [`PeakEwma`](tower::load::PeakEwma) cost: a latency estimate that jumps to every peak and
//! decays slowly, times (calls in flight + 1), so a slow or busy instance costs more.
//!
//! # Weights and tiers
//!
//! An instance can carry a weight and belong to a tier
//! ([`InstanceConfig`](super::registry::InstanceConfig)). The two draws are made in proportion
//! to the weights, and the cost compared is per unit of weight, so with alike latencies an
//! instance of weight 8 takes about eight times the calls of one of weight 1. Tiers are
//! priority groups: the pick looks at the best tier first and moves to the next only when no
//! instance of it is admissible, which is how an LLM alias falls back from its primary
//! deployments to cheaper or slower ones.
//!
//! # Why not `tower::balance::p2c`
//!
//! tower's balancer and its `PeakEwma` wrapper are the model, and the cost formula is theirs,
//! but they do not fit here. `PeakEwma` is not `Clone` and owns its service, while an instance
//! here lives in a shared [`Registry`] that many clones of a
//! service read at once. `p2c::Balance` learns its instances from a `Discover` stream and
//! ejects them through `poll_ready`, whereas here breakers eject instances and the decision
//! must happen in `call` (routers ignore readiness). And it cannot pin a call to one named
//! instance, which A2A task affinity needs. So the pick is our own: a few lines in the same
//! shape, on the same formula.
//!
//! # Readiness
//!
//! [`Balanced`] is always ready: which instance serves a call is decided in `call`, and the
//! chosen instance's own readiness is awaited inside the response future, on a clone of its
//! service. Once called, that clone goes back to the instance and serves a later call: a call
//! clones the service only when every earlier clone is busy.

pub mod future;

mod p2c;
mod pinned;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tier_tests;

use std::fmt;
use std::task::{Context, Poll};

use tower::Service;

pub use self::pinned::{Failover, Pinned};
pub use crate::upstream::load::{LoadConfig, LoadEstimate};

use self::future::{InstanceCall, ResponseFuture};
use crate::BoxError;
use crate::upstream::breaker::Permit;
use crate::upstream::classify::{Classify, ErrorsAsFailures};
use crate::upstream::error::{NoHealthyInstance, UnknownInstance, UnknownUpstream};
use crate::upstream::registry::{Registry, Upstream};

/// A service that sends each call to one admissible instance of an [`Upstream`], and teaches
/// that instance's breaker and latency estimate how the call went.
///
/// Cheap to clone: clones share the upstream. `C` decides what counts as a failure for the
/// breakers; by default every `Err`.
pub struct Balanced<S, C = ErrorsAsFailures> {
    upstream: Upstream<S>,
    classifier: C,
}

impl<S> Balanced<S> {
    /// Balances calls over the instances of `upstream`.
    pub fn new(upstream: Upstream<S>) -> Self {
        Balanced {
            upstream,
            classifier: ErrorsAsFailures,
        }
    }
}

impl<S> Registry<S> {
    /// A service that balances calls over the instances of the upstream called `name`.
    ///
    /// Defined here, on the balancing side, so that the registry stays a leaf that knows
    /// nothing of balancing.
    pub fn balanced(&self, name: &str) -> Result<Balanced<S>, UnknownUpstream> {
        self.upstream(name).map(|u| Balanced::new(u.clone()))
    }
}

impl<S, C> Balanced<S, C> {
    /// Decides what counts as a failure with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> Balanced<S, C2> {
        Balanced {
            upstream: self.upstream,
            classifier,
        }
    }

    /// The upstream.
    pub fn upstream(&self) -> &Upstream<S> {
        &self.upstream
    }

    /// A service that sends every call to instance `id`, for affinity: an A2A task lives on
    /// the instance that created it. `failover` says what happens when that instance's
    /// breaker is open.
    pub fn pin(&self, id: &str, failover: Failover) -> Result<Pinned<S, C>, UnknownInstance>
    where
        C: Clone,
    {
        let index = self
            .upstream
            .position(id)
            .ok_or_else(|| UnknownInstance::new(self.upstream.name(), id))?;
        Ok(Pinned::new(self.clone(), index, failover))
    }

    /// Calls instance `index` under `permit`.
    fn dispatch<Req>(
        &self,
        index: usize,
        permit: Permit,
        req: Req,
    ) -> ResponseFuture<InstanceCall<S, Req, S::Future>, C>
    where
        S: Service<Req> + Clone,
        C: Clone,
    {
        let instance = &self.upstream.instances()[index];
        let in_flight = instance.load().start();
        let future = InstanceCall::new(&self.upstream, index, req);
        ResponseFuture::called(future, permit, in_flight, self.classifier.clone())
    }

    /// Picks an instance and calls it.
    fn balance<Req>(&self, req: Req) -> ResponseFuture<InstanceCall<S, Req, S::Future>, C>
    where
        S: Service<Req> + Clone,
        C: Clone,
    {
        match self.upstream.pick(|_| true) {
            Ok((index, permit)) => self.dispatch(index, permit, req),
            Err(denied) => ResponseFuture::failed(denied.into()),
        }
    }

    /// Picks an instance as a call would, among those whose index (position in
    /// [`Upstream::instances`]) `eligible` accepts, and takes a permit from its breaker;
    /// [`call_picked`](Balanced::call_picked) then calls it.
    ///
    /// For a router with its own reasons to pass an instance over: one already tried for
    /// this call, one resting after a `Retry-After`. Dropping the [`Picked`] without calling
    /// frees its permit and reports nothing.
    pub fn pick_where(
        &self,
        eligible: impl Fn(usize) -> bool,
    ) -> Result<Picked, NoHealthyInstance> {
        let (index, permit) = self.upstream.pick(eligible)?;
        Ok(Picked { index, permit })
    }

    /// Calls the instance `picked` chose; the future reports the outcome to its breaker and
    /// its latency to its estimate, as a balanced call does.
    pub fn call_picked<Req>(
        &self,
        picked: Picked,
        req: Req,
    ) -> ResponseFuture<InstanceCall<S, Req, S::Future>, C>
    where
        S: Service<Req> + Clone,
        C: Clone,
    {
        self.dispatch(picked.index, picked.permit, req)
    }
}

impl<S, C, Req> Service<Req> for Balanced<S, C>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<InstanceCall<S, Req, S::Future>, C>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.balance(req)
    }
}

/// An instance chosen by [`Balanced::pick_where`], with the permit its breaker gave.
pub struct Picked {
    index: usize,
    permit: Permit,
}

impl Picked {
    /// The instance's position in [`Upstream::instances`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether the call is a probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.permit.is_probe()
    }
}

impl fmt::Debug for Picked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Picked")
            .field("index", &self.index)
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl<S, C: Clone> Clone for Balanced<S, C> {
    fn clone(&self) -> Self {
        Balanced {
            upstream: self.upstream.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<S, C> fmt::Debug for Balanced<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balanced")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}
