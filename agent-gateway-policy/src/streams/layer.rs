use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower::Layer;

use super::{Counts, DEFAULT_MAX_STREAM_LIFETIME, StreamLimit};

/// Wraps an HTTP service in [`StreamLimit`]. The counts are created with the layer and shared
/// by every service it wraps, so one caller's limit covers every route.
#[must_use]
pub struct StreamLimitLayer<R> {
    counts: Arc<Counts>,
    per_caller: usize,
    max_lifetime: Duration,
    render: Arc<R>,
}

impl<R> StreamLimitLayer<R> {
    /// At most `per_caller` open responses per caller (see
    /// [`DEFAULT_STREAMS_PER_CALLER`](super::DEFAULT_STREAMS_PER_CALLER)), refusals rendered
    /// with `render`, event streams ended after [`DEFAULT_MAX_STREAM_LIFETIME`].
    pub fn new(per_caller: usize, render: R) -> Self {
        StreamLimitLayer {
            counts: Arc::default(),
            per_caller,
            max_lifetime: DEFAULT_MAX_STREAM_LIFETIME,
            render: Arc::new(render),
        }
    }

    /// Ends event streams cleanly once they have lasted `lifetime`.
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// How many responses are open now, over every caller.
    pub fn open(&self) -> usize {
        self.counts.lock().values().sum()
    }

    /// How many callers hold at least one open response now: the entries of the per-caller
    /// table (a caller's entry goes with its last response).
    pub fn callers(&self) -> usize {
        self.counts.lock().len()
    }

    /// The most responses one caller holds open now (0 when none): how close the busiest
    /// caller is to [`per_caller`](Self::per_caller).
    pub fn busiest(&self) -> usize {
        self.counts.lock().values().copied().max().unwrap_or(0)
    }

    /// How many open responses one caller may hold.
    pub fn per_caller(&self) -> usize {
        self.per_caller
    }
}

impl<R> Clone for StreamLimitLayer<R> {
    fn clone(&self) -> Self {
        StreamLimitLayer {
            counts: Arc::clone(&self.counts),
            per_caller: self.per_caller,
            max_lifetime: self.max_lifetime,
            render: Arc::clone(&self.render),
        }
    }
}

impl<S, R> Layer<S> for StreamLimitLayer<R> {
    type Service = StreamLimit<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamLimit {
            inner,
            counts: Arc::clone(&self.counts),
            per_caller: self.per_caller,
            max_lifetime: self.max_lifetime,
            render: Arc::clone(&self.render),
        }
    }
}

impl<R> fmt::Debug for StreamLimitLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamLimitLayer")
            .field("per_caller", &self.per_caller)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}
