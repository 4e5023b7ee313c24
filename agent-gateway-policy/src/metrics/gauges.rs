//! What is read at scrape time rather than counted per call: the fill levels of bounded
//! tables, the audit writer's queue, and each upstream instance's breaker and calls in flight.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agent_gateway_core::upstream::LoadEstimate;
use agent_gateway_core::upstream::breaker::{Breaker, BreakerState};
use agent_gateway_core::upstream::registry::{Registry, Upstream};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::audit::AuditLog;

/// The instances of a protocol's upstreams whose health is exported: each one's circuit
/// [`Breaker`] and, when known, its [`LoadEstimate`] (calls in flight). Clones of both share
/// the instance's state, so this reads the live values at every scrape.
///
/// Build it from a core [`Registry`] ([`UpstreamHealth::of`]) or instance by instance, then
/// hand it to [`Metrics::watch_upstreams`](super::Metrics::watch_upstreams).
#[derive(Clone, Default)]
pub struct UpstreamHealth {
    instances: Vec<Instance>,
}

#[derive(Clone)]
struct Instance {
    upstream: Arc<str>,
    instance: Arc<str>,
    breaker: Breaker,
    load: Option<LoadEstimate>,
}

impl UpstreamHealth {
    /// No instances.
    pub fn new() -> Self {
        UpstreamHealth::default()
    }

    /// Every instance of every upstream of `registry`.
    pub fn of<S>(registry: &Registry<S>) -> Self {
        registry
            .iter()
            .fold(UpstreamHealth::new(), UpstreamHealth::with_upstream)
    }

    /// Adds every instance of `upstream`.
    pub fn with_upstream<S>(mut self, upstream: &Upstream<S>) -> Self {
        for instance in upstream.instances() {
            self.instances.push(Instance {
                upstream: Arc::from(upstream.name().as_str()),
                instance: Arc::from(instance.id().as_str()),
                breaker: instance.breaker().clone(),
                load: Some(instance.load().clone()),
            });
        }
        self
    }

    /// Adds one instance by hand: its upstream's name, its id, its breaker and, if known, its
    /// load estimate (for a service that keeps them without exposing a core [`Registry`]).
    pub fn with_instance(
        mut self,
        upstream: &str,
        instance: &str,
        breaker: Breaker,
        load: Option<LoadEstimate>,
    ) -> Self {
        self.instances.push(Instance {
            upstream: Arc::from(upstream),
            instance: Arc::from(instance),
            breaker,
            load,
        });
        self
    }

    /// How many instances are watched.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

impl fmt::Debug for UpstreamHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamHealth")
            .field("instances", &self.instances.len())
            .finish()
    }
}

type Entries = Box<dyn Fn() -> usize + Send + Sync>;
type Up = Box<dyn Fn() -> bool + Send + Sync>;
type Errors = Box<dyn Fn() -> u64 + Send + Sync>;

struct Store {
    up: Up,
    errors: Errors,
}

struct Table {
    capacity: Option<usize>,
    entries: Entries,
}

/// Everything watched, keyed so that registering the same table, protocol or log again (after
/// a configuration reload) replaces what was there.
#[derive(Default)]
pub(super) struct Watched {
    sources: Mutex<Sources>,
}

#[derive(Default)]
struct Sources {
    tables: BTreeMap<String, Table>,
    upstreams: BTreeMap<String, UpstreamHealth>,
    stores: BTreeMap<String, Store>,
    audit: Option<AuditLog>,
}

impl Watched {
    fn lock(&self) -> MutexGuard<'_, Sources> {
        // Nothing panics while holding it; the sources stay whole.
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn table(&self, name: &str, capacity: Option<usize>, entries: Entries) {
        let table = Table { capacity, entries };
        self.lock().tables.insert(name.to_owned(), table);
    }

    pub(super) fn upstreams(&self, protocol: &str, health: UpstreamHealth) {
        self.lock().upstreams.insert(protocol.to_owned(), health);
    }

    pub(super) fn store(&self, name: &str, up: Up, errors: Errors) {
        let store = Store { up, errors };
        self.lock().stores.insert(name.to_owned(), store);
    }

    pub(super) fn audit(&self, log: AuditLog) {
        self.lock().audit = Some(log);
    }
}

impl fmt::Debug for Watched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources = self.lock();
        f.debug_struct("Watched")
            .field("tables", &sources.tables.keys().collect::<Vec<_>>())
            .field("upstreams", &sources.upstreams)
            .field("stores", &sources.stores.keys().collect::<Vec<_>>())
            .field("audit", &sources.audit.is_some())
            .finish()
    }
}

/// One metric family: its descriptor, then a row per label set.
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    (name, help, kind): (&str, &str, MetricType),
    rows: impl IntoIterator<Item = (L, M)>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge(value: usize) -> ConstGauge {
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
}

/// The numeric value of a breaker state in `agw_upstream_breaker_state`.
fn breaker_value(state: BreakerState) -> i64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

impl Collector for Watched {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let sources = self.lock();
        let tables = || sources.tables.iter();
        family(
            &mut encoder,
            (
                "table_entries",
                "Entries held in a bounded table",
                MetricType::Gauge,
            ),
            tables().map(|(name, t)| ([("table", name.as_str())], gauge((t.entries)()))),
        )?;
        family(
            &mut encoder,
            (
                "table_capacity",
                "The most entries a bounded table holds",
                MetricType::Gauge,
            ),
            tables().filter_map(|(name, t)| Some(([("table", name.as_str())], gauge(t.capacity?)))),
        )?;
        let instances = || {
            sources.upstreams.iter().flat_map(|(protocol, health)| {
                health.instances.iter().map(move |i| {
                    let labels = [
                        ("protocol", protocol.as_str()),
                        ("upstream", &*i.upstream),
                        ("instance", &*i.instance),
                    ];
                    (labels, i)
                })
            })
        };
        family(
            &mut encoder,
            (
                "upstream_up",
                "1 while the instance's circuit breaker lets calls through",
                MetricType::Gauge,
            ),
            instances().map(|(l, i)| {
                (
                    l,
                    ConstGauge::new(i64::from(i.breaker.state() != BreakerState::Open)),
                )
            }),
        )?;
        family(
            &mut encoder,
            (
                "upstream_breaker_state",
                "The instance's circuit breaker: 0 closed, 1 half-open, 2 open",
                MetricType::Gauge,
            ),
            instances().map(|(l, i)| (l, ConstGauge::new(breaker_value(i.breaker.state())))),
        )?;
        family(
            &mut encoder,
            (
                "upstream_in_flight",
                "Calls to the instance not yet answered",
                MetricType::Gauge,
            ),
            instances().filter_map(|(l, i)| Some((l, gauge(i.load.as_ref()?.in_flight())))),
        )?;
        let stores = || sources.stores.iter();
        family(
            &mut encoder,
            (
                "store_up",
                "1 while the counter store's last operation reached it",
                MetricType::Gauge,
            ),
            stores().map(|(name, s)| {
                let up = ConstGauge::new(i64::from((s.up)()));
                ([("store", name.as_str())], up)
            }),
        )?;
        family(
            &mut encoder,
            (
                "store_errors",
                "Counter store operations that failed",
                MetricType::Counter,
            ),
            stores().map(|(name, s)| ([("store", name.as_str())], ConstCounter::new((s.errors)()))),
        )?;
        if let Some(log) = &sources.audit {
            let none: [(&str, &str); 0] = [];
            let queue = [(none, gauge(log.queued()))];
            family(
                &mut encoder,
                (
                    "audit_queue_depth",
                    "Audit records queued for the writer",
                    MetricType::Gauge,
                ),
                queue,
            )?;
            let cap = [(none, gauge(log.capacity()))];
            family(
                &mut encoder,
                (
                    "audit_queue_capacity",
                    "The audit queue's bound",
                    MetricType::Gauge,
                ),
                cap,
            )?;
            for (name, help, value) in [
                (
                    "audit_records_written",
                    "Audit records written to the sink",
                    log.written(),
                ),
                (
                    "audit_records_dropped",
                    "Audit records dropped on a full queue (overflow = drop)",
                    log.dropped(),
                ),
                (
                    "audit_records_failed",
                    "Audit records the sink failed to store",
                    log.failed(),
                ),
            ] {
                family(
                    &mut encoder,
                    (name, help, MetricType::Counter),
                    [(none, ConstCounter::new(value))],
                )?;
            }
        }
        Ok(())
    }
}
