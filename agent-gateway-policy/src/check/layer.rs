use std::fmt;
use std::sync::Arc;

use agent_gateway_core::Caller;
use agent_gateway_core::response::Item;
use tower::Layer;

use super::{Check, Checked, ItemFilter};

/// Runs a [`Check`] on every request, and optionally filters listings, through a [`Checked`]
/// service.
///
/// The check is created with the layer and shared, through an `Arc`, by every service it wraps.
#[must_use]
pub struct CheckLayer<C> {
    check: Arc<C>,
    items: Option<ItemFilter>,
}

impl<C: Check> CheckLayer<C> {
    /// A layer running `check` before the inner service.
    pub fn new(check: C) -> Self {
        CheckLayer {
            check: Arc::new(check),
            items: None,
        }
    }
}

impl<C> CheckLayer<C> {
    /// Also filters listing responses: an item stays only if `keep` returns `true` for the
    /// caller (if any) and the item.
    pub fn with_items(
        mut self,
        keep: impl Fn(Option<&Caller>, &Item<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.items = Some(Arc::new(keep));
        self
    }

    /// The check.
    pub fn check(&self) -> &C {
        &self.check
    }
}

impl<C> Clone for CheckLayer<C> {
    fn clone(&self) -> Self {
        CheckLayer {
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

impl<S, C> Layer<S> for CheckLayer<C> {
    type Service = Checked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Checked {
            inner,
            check: self.check.clone(),
            items: self.items.clone(),
        }
    }
}

impl<C> fmt::Debug for CheckLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckLayer")
            .field("items", &self.items.is_some())
            .finish_non_exhaustive()
    }
}
