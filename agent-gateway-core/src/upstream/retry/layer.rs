use std::fmt;
use std::sync::Arc;

use tower::Layer;
use tower::retry::Retry;
use tower::retry::budget::TpsBudget;

use super::{BudgetRetry, RetryableErrors};

/// Wraps a service in a tower [`Retry`] driven by a [`BudgetRetry`] policy.
///
/// The budget is created with the layer and shared by every service it wraps.
#[derive(Clone)]
#[must_use]
pub struct BudgetRetryLayer<C = RetryableErrors> {
    policy: BudgetRetry<C>,
}

impl BudgetRetryLayer {
    /// Retries failed calls while `budget` allows.
    pub fn new(budget: impl Into<Arc<TpsBudget>>) -> Self {
        BudgetRetryLayer {
            policy: BudgetRetry::new(budget),
        }
    }
}

impl<C> BudgetRetryLayer<C> {
    /// Decides which outcomes are retried with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> BudgetRetryLayer<C2> {
        BudgetRetryLayer {
            policy: self.policy.with_classifier(classifier),
        }
    }

    /// The policy each wrapped service gets a copy of.
    pub fn policy(&self) -> &BudgetRetry<C> {
        &self.policy
    }
}

impl<S, C: Clone> Layer<S> for BudgetRetryLayer<C> {
    type Service = Retry<BudgetRetry<C>, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry::new(self.policy.clone(), inner)
    }
}

impl<C> fmt::Debug for BudgetRetryLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetRetryLayer")
            .field("policy", &self.policy)
            .finish()
    }
}
