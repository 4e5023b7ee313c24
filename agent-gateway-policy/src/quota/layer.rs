use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_gateway_core::store::CounterStore;
use tower::Layer;

use super::Quota;
use super::admit::Shared;
use super::limit::Limit;

/// Applies [`Limit`]s to every request through a [`Quota`] service.
///
/// The store and the limits are created with the layer and shared, through an `Arc`, by every
/// service it wraps: a router that calls `layer()` once per route still counts each key once.
#[must_use]
pub struct QuotaLayer {
    shared: Arc<Shared>,
}

impl QuotaLayer {
    /// A layer with no limits yet, counting in `store`. It fails closed when the store fails.
    pub fn new(store: impl CounterStore) -> Self {
        QuotaLayer {
            shared: Arc::new(Shared {
                store: Arc::new(store),
                limits: Vec::new(),
                fail_open: false,
                fail_open_count: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// Adds a limit. A request must pass every limit; they are checked in the order added.
    pub fn with_limit(mut self, limit: Limit) -> Self {
        Arc::make_mut(&mut self.shared).limits.push(limit);
        self
    }

    /// Lets requests through when the store fails, instead of refusing them with
    /// [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable).
    ///
    /// Each such request is logged at `warn` and counted in
    /// [`fail_open_count`](Self::fail_open_count). Choose this only where an outage of the store
    /// must not become an outage of the gateway, and unlimited traffic meanwhile is acceptable.
    pub fn fail_open(mut self) -> Self {
        Arc::make_mut(&mut self.shared).fail_open = true;
        self
    }

    /// The limits, in the order they are checked.
    pub fn limits(&self) -> &[Limit] {
        &self.shared.limits
    }

    /// How many limit checks were skipped because the store failed and the layer fails open.
    pub fn fail_open_count(&self) -> u64 {
        self.shared.fail_open_count.load(Ordering::Relaxed)
    }
}

impl Clone for QuotaLayer {
    fn clone(&self) -> Self {
        QuotaLayer {
            shared: self.shared.clone(),
        }
    }
}

impl<S> Layer<S> for QuotaLayer {
    type Service = Quota<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Quota::from_shared(inner, self.shared.clone())
    }
}

impl fmt::Debug for QuotaLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaLayer")
            .field("store", &self.shared.store)
            .field("limits", &self.shared.limits)
            .field("fail_open", &self.shared.fail_open)
            .finish()
    }
}
