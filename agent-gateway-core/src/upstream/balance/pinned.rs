//! Calls pinned to one instance, for affinity.

use std::fmt;
use std::task::{Context, Poll};

use tower::Service;

use super::Balanced;
use super::future::{InstanceCall, ResponseFuture};
use crate::BoxError;
use crate::upstream::classify::{Classify, ErrorsAsFailures};
use crate::upstream::registry::InstanceId;

/// What a [`Pinned`] call does when its instance's circuit breaker is open.
///
/// It only applies when the call is refused locally: an instance that was called and failed
/// returns its error, and a retry layer above sends the retry to the same instance again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Failover {
    /// Fail at once with [`CircuitOpen`](crate::upstream::breaker::CircuitOpen).
    ///
    /// The default, because affinity exists for state that only that instance holds: sent
    /// elsewhere, an A2A task message finds no task at best, and starts a second one at worst.
    #[default]
    Never,
    /// Balance the call over the upstream's other admissible instances instead, as
    /// [`Balanced`] would; with none, fail with
    /// [`NoHealthyInstance`](crate::upstream::error::NoHealthyInstance). For calls where
    /// affinity is only an optimisation (a warm cache, a prompt-cache hit).
    Rebalance,
}

/// A service that sends every call to one instance of an upstream; made by
/// [`Balanced::pin`].
///
/// Like [`Balanced`], it reports each outcome to the instance's breaker and estimate, and is
/// always ready.
pub struct Pinned<S, C = ErrorsAsFailures> {
    balanced: Balanced<S, C>,
    index: usize,
    failover: Failover,
}

impl<S, C> Pinned<S, C> {
    pub(super) fn new(balanced: Balanced<S, C>, index: usize, failover: Failover) -> Self {
        Pinned {
            balanced,
            index,
            failover,
        }
    }

    /// The instance calls are pinned to.
    pub fn instance(&self) -> &InstanceId {
        self.balanced.upstream().instances()[self.index].id()
    }

    /// What happens when that instance's breaker is open.
    pub fn failover(&self) -> Failover {
        self.failover
    }
}

impl<S, C, Req> Service<Req> for Pinned<S, C>
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
        let instance = &self.balanced.upstream().instances()[self.index];
        match instance.breaker().try_acquire() {
            Ok(permit) => self.balanced.dispatch(self.index, permit, req),
            Err(open) => match self.failover {
                Failover::Never => ResponseFuture::failed(open.into()),
                Failover::Rebalance => self.balanced.balance(req),
            },
        }
    }
}

impl<S, C: Clone> Clone for Pinned<S, C> {
    fn clone(&self) -> Self {
        Pinned {
            balanced: self.balanced.clone(),
            index: self.index,
            failover: self.failover,
        }
    }
}

impl<S, C> fmt::Debug for Pinned<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned")
            .field("upstream", self.balanced.upstream().name())
            .field("instance", self.instance())
            .field("failover", &self.failover)
            .finish()
    }
}
