//! Retries bounded by a budget: a share of recent traffic, not a fixed count per call.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//! use agent_gateway_core::BoxError;
//! use agent_gateway_core::upstream::retry::{BudgetRetryLayer, TpsBudget};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // No reserve, and one retry for every five calls.
//! let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(10), 0, 0.2));
//! let calls = Arc::new(AtomicUsize::new(0));
//! let flaky = {
//!     let calls = calls.clone();
//!     ServiceBuilder::new().layer(layer).service(service_fn(move |_: ()| {
//!         // Every odd attempt fails.
//!         let n = calls.fetch_add(1, Ordering::SeqCst);
//!         async move { if n % 2 == 0 { Err::<_, BoxError>("flaky".into()) } else { Ok(n) } }
//!     }))
//! };
//!
//! // Denied: four calls in, the budget has not earned a retry yet, so failures are returned.
//! for _ in 0..2 {
//!     assert!(flaky.clone().oneshot(()).await.is_err());
//!     assert!(flaky.clone().oneshot(()).await.is_ok());
//! }
//! // Allowed: the fifth call's deposit earns one retry, so its failed attempt is retried.
//! assert_eq!(flaky.clone().oneshot(()).await.unwrap(), 5);
//! assert_eq!(calls.load(Ordering::SeqCst), 6);
//! # }
//! ```
//!
//! # Why a budget, and not "retry three times"
//!
//! A fixed count is a guess, and a dangerous one. When an upstream starts failing, every
//! caller retries every call, so the upstream sees up to four times its normal load exactly
//! when it can least take it; with retries at several hops the factors multiply, and a blip
//! becomes an outage (a retry storm). A budget bounds retries to a share of recent successful
//! traffic (say 20%), plus a small reserve so that quiet callers can still retry: when a few
//! calls fail they are retried, and when everything fails the extra load is capped at 20%.
//! This is tower's [`TpsBudget`] (after Finagle's), and its module documentation tells the
//! story at length.
//!
//! Retries are immediate. Under a [`Balanced`](crate::upstream::balance::Balanced) service a
//! retry is a new pick: the instance that failed now costs more, and after enough failures its
//! breaker takes it out, so the retry usually lands elsewhere. A backoff would only add
//! latency to a call whose budget already limits the load it adds.

mod layer;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;

use tower::retry::Policy;
pub use tower::retry::Retry;
pub use tower::retry::budget::{Budget, TpsBudget};

pub use self::layer::BudgetRetryLayer;
use crate::BoxError;
use crate::upstream::classify::Classify;
use crate::upstream::error::is_refusal;

/// A tower retry [`Policy`]: retries a call when its classifier says the outcome is worth
/// retrying and the shared budget allows one more retry.
///
/// Every call deposits into the budget once, on its first attempt; every retry withdraws.
/// Requests must be `Clone`: the policy keeps a copy to send again (for HTTP, a request whose
/// body is buffered `Bytes`; a streamed body cannot be replayed).
///
/// [`TpsBudget`] keeps its window on tokio's clock, not on an injected
/// [`Clock`](crate::clock::Clock): pause tokio time (`start_paused = true`) to test it.
pub struct BudgetRetry<C = RetryableErrors> {
    budget: Arc<TpsBudget>,
    classifier: C,
    retries: usize,
}

/// The default retry classifier: every `Err` is retried, except the upstream plumbing's own
/// refusals ([`is_refusal`]: no healthy instance, circuit open, unknown upstream or
/// instance). Those are decided locally and would come back the same, so a retry would only
/// spend budget.
///
/// It reads [`BoxError`]s, which every service in this module returns; for another error type
/// use [`ErrorsAsFailures`](crate::upstream::classify::ErrorsAsFailures) or a closure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryableErrors;

impl<Resp> Classify<Resp, BoxError> for RetryableErrors {
    fn is_failure(&self, result: &Result<Resp, BoxError>) -> bool {
        match result {
            Ok(_) => false,
            Err(error) => !is_refusal(&**error),
        }
    }
}

impl BudgetRetry {
    /// Retries failed calls while `budget` allows.
    ///
    /// Share one budget among everything that calls the same upstream: the budget is what
    /// caps the load retries add to it.
    pub fn new(budget: impl Into<Arc<TpsBudget>>) -> Self {
        BudgetRetry {
            budget: budget.into(),
            classifier: RetryableErrors,
            retries: 0,
        }
    }
}

impl<C> BudgetRetry<C> {
    /// Decides which outcomes are retried with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> BudgetRetry<C2> {
        BudgetRetry {
            budget: self.budget,
            classifier,
            retries: self.retries,
        }
    }

    /// The shared budget.
    pub fn budget(&self) -> &Arc<TpsBudget> {
        &self.budget
    }
}

impl<C, Req, Resp, E> Policy<Req, Resp, E> for BudgetRetry<C>
where
    C: Classify<Resp, E>,
    Req: Clone,
{
    type Future = Ready<()>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Resp, E>) -> Option<Self::Future> {
        if !self.classifier.is_failure(result) || !self.budget.withdraw() {
            return None;
        }
        self.retries += 1;
        Some(ready(()))
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        // tower calls this before the first attempt, on the service's own policy, and before
        // each retry, on the call's copy of it, which alone has counted retries. So `retries`
        // is zero exactly once per call: that is when the call deposits.
        if self.retries == 0 {
            self.budget.deposit();
        }
        Some(req.clone())
    }
}

impl<C: Clone> Clone for BudgetRetry<C> {
    fn clone(&self) -> Self {
        BudgetRetry {
            budget: self.budget.clone(),
            classifier: self.classifier.clone(),
            retries: self.retries,
        }
    }
}

impl<C> fmt::Debug for BudgetRetry<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetRetry")
            .field("budget", &self.budget)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}
