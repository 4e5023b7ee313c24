use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agent_gateway_core::store::{CounterStore, StoreError};
use agent_gateway_core::{RunId, SharedClock, SystemClock};
use tower::Layer;

use super::limits::RunLimits;
use super::loops::Loops;
use super::resolve::RunSource;
use super::shared::{Counters, DEFAULT_HEADER_TTL, DEFAULT_STATE_TTL, Shared};
use super::token::HopKeys;
use super::{ResolveRun, Run};

/// Counts every call of a run against the run's limits, signs what is left for the next hop
/// and detects loops, through a [`Run`] service; see the [module docs](super).
///
/// The store, the limits and the counters are created with the layer and shared, through an
/// `Arc`, by every service it wraps.
#[must_use]
pub struct RunLayer {
    shared: Arc<Shared>,
}

impl RunLayer {
    /// A layer with no limits yet, counting in `store`. Runs are found by the default
    /// [`RunSource`]s, a call in none of them starts a run of its own, no budget header is
    /// signed or accepted until [`with_keys`](Self::with_keys), loops of identical calls are
    /// blocked ([`Loops::default`]), and a store failure refuses the call.
    pub fn new(store: impl CounterStore) -> Self {
        RunLayer {
            shared: Arc::new(Shared {
                store: Arc::new(store),
                clock: SystemClock::shared(),
                limits: RunLimits::new(),
                callers: HashMap::new(),
                agents: HashSet::new(),
                sources: RunSource::defaults(),
                mint: true,
                keys: None,
                header_ttl: DEFAULT_HEADER_TTL,
                state_ttl: DEFAULT_STATE_TTL,
                loops: Some(Loops::default()),
                fail_open: false,
                counters: Arc::new(Counters::default()),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        f(Arc::make_mut(&mut self.shared));
        self
    }

    /// Limits every run to `limits`, unless its caller has its own.
    pub fn with_limits(self, limits: RunLimits) -> Self {
        self.edit(|s| s.limits = limits)
    }

    /// The limits of calls made by the caller whose subject is `subject`: an agent's own
    /// limits. A sub-agent still gets no more than the remainder it was handed.
    pub fn with_caller_limits(self, subject: impl Into<String>, limits: RunLimits) -> Self {
        self.edit(|s| {
            s.callers.insert(subject.into(), limits);
        })
    }

    /// Names a caller (by subject) that only ever acts inside a run the gateway handed it: a
    /// call from it without a valid budget header is refused (`run.header_missing`), so that
    /// dropping the header cannot start a fresh budget.
    pub fn with_agent(self, subject: impl Into<String>) -> Self {
        self.edit(|s| {
            s.agents.insert(subject.into());
        })
    }

    /// Finds runs by `sources`, in order, instead of the defaults.
    pub fn with_sources(self, sources: Vec<RunSource>) -> Self {
        self.edit(|s| s.sources = sources)
    }

    /// Whether a step in no known run starts a run of its own (the default) or passes
    /// uncounted.
    pub fn with_mint(self, mint: bool) -> Self {
        self.edit(|s| s.mint = mint)
    }

    /// Signs budget headers for the next hop with `keys`, and accepts the ones they verify.
    pub fn with_keys(self, keys: HopKeys) -> Self {
        self.edit(|s| s.keys = Some(keys))
    }

    /// How long a signed budget header is valid; [`DEFAULT_HEADER_TTL`] unless set.
    pub fn with_header_ttl(self, ttl: Duration) -> Self {
        self.edit(|s| s.header_ttl = ttl)
    }

    /// How long a run's counters live after their first use; [`DEFAULT_STATE_TTL`] unless set.
    pub fn with_state_ttl(self, ttl: Duration) -> Self {
        self.edit(|s| s.state_ttl = ttl)
    }

    /// Detects loops with `loops`, or not at all with `None`.
    pub fn with_loops(self, loops: Option<Loops>) -> Self {
        self.edit(|s| s.loops = loops)
    }

    /// Reads wall time (run deadlines, header expiry) from `clock`.
    pub fn with_clock(self, clock: SharedClock) -> Self {
        self.edit(|s| s.clock = clock)
    }

    /// Lets calls through when the store fails; each is logged and counted in
    /// [`fail_open_count`](Self::fail_open_count).
    pub fn fail_open(self) -> Self {
        self.edit(|s| s.fail_open = true)
    }

    /// A layer that only finds each call's run (and verifies its budget header), to run
    /// before rules that read `run`; the [`Run`] service after it then counts without
    /// resolving again.
    pub fn resolver(&self) -> ResolveRunLayer {
        ResolveRunLayer {
            shared: self.shared.clone(),
        }
    }

    /// How many loops were detected in warn mode.
    pub fn loop_warnings(&self) -> u64 {
        self.shared.counters.loop_warnings.load(Ordering::Relaxed)
    }

    /// How many calls were refused as loops.
    pub fn loop_blocks(&self) -> u64 {
        self.shared.counters.loop_blocks.load(Ordering::Relaxed)
    }

    /// How many decisions were skipped because the store failed and the layer fails open.
    pub fn fail_open_count(&self) -> u64 {
        self.shared.counters.fail_open.load(Ordering::Relaxed)
    }

    /// How many usage charges could not be recorded.
    pub fn charge_failures(&self) -> u64 {
        self.shared.counters.charge_failures.load(Ordering::Relaxed)
    }

    /// How many loop warnings `run` recorded, on every replica sharing the store.
    pub async fn warnings(&self, run: &RunId) -> Result<u64, StoreError> {
        self.shared.store.get(&format!("run:{run}:warnings")).await
    }

    /// How many of `limit`'s units `run` used, on every replica sharing the store (its own
    /// count, not the per-hop ones).
    pub async fn used(&self, run: &RunId, limit: super::LimitName) -> Result<u64, StoreError> {
        self.shared
            .store
            .get(&format!("run:{run}:{}", limit.as_str()))
            .await
    }
}

impl Clone for RunLayer {
    fn clone(&self) -> Self {
        RunLayer {
            shared: self.shared.clone(),
        }
    }
}

impl<S> Layer<S> for RunLayer {
    type Service = Run<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Run::from_shared(inner, self.shared.clone())
    }
}

impl fmt::Debug for RunLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("RunLayer")
            .field("store", &s.store)
            .field("limits", &s.limits)
            .field("callers", &s.callers)
            .field("agents", &s.agents)
            .field("sources", &s.sources)
            .field("keys", &s.keys)
            .field("loops", &s.loops)
            .field("fail_open", &s.fail_open)
            .finish_non_exhaustive()
    }
}

/// Finds each call's run, through a [`ResolveRun`] service; made by [`RunLayer::resolver`].
#[must_use]
#[derive(Clone)]
pub struct ResolveRunLayer {
    shared: Arc<Shared>,
}

impl<S> Layer<S> for ResolveRunLayer {
    type Service = ResolveRun<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ResolveRun::from_shared(inner, self.shared.clone())
    }
}

impl fmt::Debug for ResolveRunLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveRunLayer")
            .field("sources", &self.shared.sources)
            .finish_non_exhaustive()
    }
}
