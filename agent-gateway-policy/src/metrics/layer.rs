//! [`MetricsLayer`]: counts every call of the routes and protocols it wraps into one
//! [`Metrics`].

use tower::Layer;

use super::{Metered, Metrics};

/// Counts each call into a [`Metrics`] through a [`Metered`] service; see the
/// [module docs](super). Made by [`Metrics::layer`]; every service it makes counts into the
/// same families.
#[derive(Clone, Debug)]
#[must_use]
pub struct MetricsLayer {
    metrics: Option<Metrics>,
}

impl MetricsLayer {
    /// Counts into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        MetricsLayer {
            metrics: Some(metrics),
        }
    }

    /// Counts nothing: its services pass every call through (metrics turned off, with the
    /// same service type as when on).
    pub fn off() -> Self {
        MetricsLayer { metrics: None }
    }

    /// The metrics it counts into, if on.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}
