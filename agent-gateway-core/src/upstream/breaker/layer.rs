use std::fmt;

use tower::Layer;

use super::CircuitBreaker;
use super::state::{Breaker, BreakerConfig};
use crate::clock::{SharedClock, SystemClock};
use crate::upstream::classify::ErrorsAsFailures;

/// Wraps a service in a [`CircuitBreaker`].
///
/// The breaker is created with the layer, and every service the layer wraps shares it: a
/// router that calls `layer()` once per route still guards one upstream with one breaker.
/// Build one layer per upstream instance.
#[derive(Clone)]
#[must_use]
pub struct CircuitBreakerLayer<C = ErrorsAsFailures> {
    breaker: Breaker,
    classifier: C,
}

impl CircuitBreakerLayer {
    /// A layer with a new breaker on the system clock, counting every `Err` as a failure.
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreakerLayer::from_breaker(Breaker::new(config, SystemClock::shared()))
    }

    /// A layer around an existing breaker, for example the one an instance of a
    /// [`Registry`](crate::upstream::registry::Registry) already has.
    pub fn from_breaker(breaker: Breaker) -> Self {
        CircuitBreakerLayer {
            breaker,
            classifier: ErrorsAsFailures,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// Replaces the breaker with a new one reading `clock`.
    pub fn with_clock(self, clock: SharedClock) -> Self {
        CircuitBreakerLayer {
            breaker: Breaker::new(*self.breaker.config(), clock),
            classifier: self.classifier,
        }
    }

    /// Decides what counts as a failure with `classifier`.
    pub fn with_classifier<C2>(self, classifier: C2) -> CircuitBreakerLayer<C2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }

    /// The shared breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreaker::new(inner, self.breaker.clone()).with_classifier(self.classifier.clone())
    }
}

impl<C> fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}
