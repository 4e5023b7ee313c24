use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt, service_fn};

use super::*;
use crate::clock::{ManualClock, SharedClock, SystemClock};
use crate::upstream::breaker::{BreakerConfig, BreakerState, CircuitOpen};
use crate::upstream::error::{NoHealthyInstance, find};
use crate::upstream::registry::{Instance, InstanceId, Registry, UpstreamName};
use crate::upstream::timeout::{Elapsed, TimeoutLayer};

const COOLDOWN: Duration = Duration::from_secs(30);

type Svc = BoxCloneSyncService<bool, usize, BoxError>;

/// Fake instances "a", "b", ... of upstream "u": each counts its calls, fails while its flag
/// is set, and, when asked to `hold`, waits for `release` before answering.
struct Fleet {
    registry: Registry<Svc>,
    calls: Arc<Vec<AtomicUsize>>,
    failing: Arc<Vec<AtomicBool>>,
    release: Arc<Notify>,
}

impl Fleet {
    fn new(n: usize, threshold: u32, clock: SharedClock) -> Self {
        let calls: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let failing: Arc<Vec<AtomicBool>> =
            Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
        let release = Arc::new(Notify::new());
        let name = UpstreamName::new("u").expect("valid");
        let config = BreakerConfig::new(NonZeroU32::new(threshold).expect("non-zero"), COOLDOWN);
        let mut builder = Registry::builder()
            .with_breaker(config)
            .with_load(LoadConfig::new(
                Duration::from_millis(1),
                Duration::from_secs(10),
            ))
            .with_clock(clock)
            .with_seed(42);
        for index in 0..n {
            let (calls, failing, release) = (calls.clone(), failing.clone(), release.clone());
            let svc = service_fn(move |hold: bool| {
                calls[index].fetch_add(1, Ordering::SeqCst);
                let fail = failing[index].load(Ordering::SeqCst);
                let release = release.clone();
                async move {
                    if hold {
                        release.notified().await;
                    }
                    if fail {
                        Err::<usize, BoxError>("down".into())
                    } else {
                        Ok(index)
                    }
                }
            });
            let id = InstanceId::new(((b'a' + index as u8) as char).to_string()).expect("valid");
            builder = builder.instance(name.clone(), id, BoxCloneSyncService::new(svc));
        }
        Fleet {
            registry: builder.build().expect("valid"),
            calls,
            failing,
            release,
        }
    }

    fn balanced(&self) -> Balanced<Svc> {
        self.registry.balanced("u").expect("present")
    }

    fn instance(&self, index: usize) -> &Instance<Svc> {
        &self.registry.get("u").expect("present").instances()[index]
    }

    fn calls(&self) -> Vec<usize> {
        self.calls
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }

    fn fail(&self, index: usize, fail: bool) {
        self.failing[index].store(fail, Ordering::SeqCst);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn p2c_prefers_the_lower_latency_instance() {
    let fleet = Fleet::new(3, 5, ManualClock::new().shared());
    // The clock does not move, so calls add zero-latency samples, which do not decay these.
    for (index, latency) in [(0, 10), (1, 50), (2, 100)] {
        fleet.instance(index).load().record(ms(latency));
    }
    let balanced = fleet.balanced();
    for _ in 0..3000 {
        balanced.clone().oneshot(false).await.expect("served");
    }
    let [a, b, c] = fleet.calls()[..] else {
        panic!("three instances")
    };
    // Of the three possible pairs, `a` wins both of its own and `b` wins against `c`; the
    // slowest instance never wins a pair.
    assert_eq!(c, 0);
    assert_eq!(a + b, 3000);
    assert!((1850..=2150).contains(&a), "a served {a}");
}

#[tokio::test]
async fn calls_in_flight_raise_the_cost() {
    let fleet = Fleet::new(2, 5, ManualClock::new().shared());
    let mut balanced = fleet.balanced();
    // Equal latencies: one held call makes its instance cost twice as much.
    let held = balanced.ready().await.expect("ready").call(true);
    let busy = (0..2)
        .find(|&i| fleet.instance(i).load().in_flight() == 1)
        .expect("one instance holds the call");
    for _ in 0..20 {
        let served = balanced.clone().oneshot(false).await.expect("served");
        assert_eq!(served, 1 - busy);
    }
    let release = fleet.release.clone();
    let (held, ()) = tokio::join!(held, async move { release.notify_one() });
    assert_eq!(held.expect("released"), busy);
    assert_eq!(fleet.instance(busy).load().in_flight(), 0);
}

#[tokio::test]
async fn a_breaker_ejects_a_failing_instance_and_a_probe_brings_it_back() {
    let clock = ManualClock::new();
    let fleet = Fleet::new(2, 3, clock.shared());
    fleet.instance(0).load().record(ms(1));
    fleet.instance(1).load().record(ms(100));
    fleet.fail(0, true);
    let balanced = fleet.balanced();

    // `a` looks faster and gets the calls until three failures open its breaker.
    for _ in 0..3 {
        assert!(balanced.clone().oneshot(false).await.is_err());
    }
    assert_eq!(fleet.instance(0).breaker().state(), BreakerState::Open);
    for _ in 0..10 {
        assert_eq!(balanced.clone().oneshot(false).await.expect("b serves"), 1);
    }
    assert_eq!(fleet.calls(), [3, 10]);

    // After the cooldown the next call probes `a`; it still fails, so `a` is open again.
    clock.advance(COOLDOWN);
    assert!(balanced.clone().oneshot(false).await.is_err());
    assert_eq!(fleet.calls(), [4, 10]);
    assert_eq!(fleet.instance(0).breaker().state(), BreakerState::Open);
    assert_eq!(balanced.clone().oneshot(false).await.expect("b serves"), 1);
    assert_eq!(fleet.calls(), [4, 11]);

    // `a` recovers; the next probe succeeds and closes its breaker.
    fleet.fail(0, false);
    clock.advance(COOLDOWN);
    assert_eq!(balanced.clone().oneshot(false).await.expect("probe"), 0);
    assert_eq!(fleet.instance(0).breaker().state(), BreakerState::Closed);
    assert_eq!(balanced.clone().oneshot(false).await.expect("a is back"), 0);
    assert_eq!(fleet.calls(), [6, 11]);
}

#[tokio::test]
async fn all_breakers_open_fails_at_once_without_calling_anyone() {
    let clock = ManualClock::new();
    let fleet = Fleet::new(2, 1, clock.shared());
    fleet.fail(0, true);
    fleet.fail(1, true);
    let balanced = fleet.balanced();
    assert!(balanced.clone().oneshot(false).await.is_err());
    clock.advance(ms(10_000));
    assert!(balanced.clone().oneshot(false).await.is_err());
    assert_eq!(fleet.calls(), [1, 1]);

    let err = balanced
        .clone()
        .oneshot(false)
        .await
        .expect_err("no instance");
    let denied = find::<NoHealthyInstance>(&*err).expect("typed");
    assert_eq!(denied.upstream().as_str(), "u");
    // The first breaker opened 10 s before the second: it half-opens first.
    assert_eq!(denied.retry_after(), Some(COOLDOWN - ms(10_000)));
    assert_eq!(fleet.calls(), [1, 1]);
}

#[tokio::test]
async fn a_pinned_call_goes_to_the_named_instance() {
    let fleet = Fleet::new(3, 1, ManualClock::new().shared());
    fleet.instance(2).load().record(ms(500));
    let pinned = fleet.balanced().pin("c", Failover::Never).expect("known");
    assert_eq!(pinned.instance().as_str(), "c");
    for _ in 0..10 {
        assert_eq!(pinned.clone().oneshot(false).await.expect("served"), 2);
    }
    assert_eq!(fleet.calls(), [0, 0, 10]);
    // Its outcomes teach the instance too.
    fleet.fail(2, true);
    assert!(pinned.clone().oneshot(false).await.is_err());
    assert_eq!(fleet.instance(2).breaker().state(), BreakerState::Open);

    let err = fleet
        .balanced()
        .pin("z", Failover::Never)
        .expect_err("unknown");
    assert_eq!((err.upstream().as_str(), err.instance()), ("u", "z"));
}

#[tokio::test]
async fn a_pinned_call_to_an_open_instance_fails_over_only_if_allowed() {
    let fleet = Fleet::new(2, 1, ManualClock::new().shared());
    fleet.fail(0, true);
    let never = fleet.balanced().pin("a", Failover::Never).expect("known");
    assert!(never.clone().oneshot(false).await.is_err());
    assert_eq!(fleet.calls(), [1, 0]);

    let err = never.oneshot(false).await.expect_err("open");
    assert_eq!(
        find::<CircuitOpen>(&*err).and_then(|e| e.retry_after()),
        Some(COOLDOWN)
    );
    assert_eq!(fleet.calls(), [1, 0]);

    let rebalance = fleet
        .balanced()
        .pin("a", Failover::Rebalance)
        .expect("known");
    assert_eq!(rebalance.oneshot(false).await.expect("b serves"), 1);
    assert_eq!(fleet.calls(), [1, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_as_a_failure_of_the_instance() {
    let fleet = Fleet::new(2, 2, SystemClock::shared());
    // Wrap each instance in a timeout: `a` always holds (its release never comes).
    let name = UpstreamName::new("u").expect("valid");
    let mut builder = Registry::builder()
        .with_breaker(BreakerConfig::new(
            NonZeroU32::new(2).expect("non-zero"),
            COOLDOWN,
        ))
        .with_seed(1);
    for instance in fleet.registry.get("u").expect("present").instances() {
        let svc = TimeoutLayer::new(ms(100)).layer(instance.service().clone());
        builder = builder.instance(name.clone(), instance.id().clone(), svc);
    }
    let registry = builder.build().expect("valid");
    let upstream = registry.get("u").expect("present");
    upstream.instances()[0].load().record(ms(1));
    upstream.instances()[1].load().record(ms(1_000));
    let balanced = registry.balanced("u").expect("present");

    for _ in 0..2 {
        let err = balanced.clone().oneshot(true).await.expect_err("times out");
        assert!(find::<Elapsed>(&*err).is_some());
    }
    assert_eq!(
        upstream.instances()[0].breaker().state(),
        BreakerState::Open
    );
    assert_eq!(balanced.clone().oneshot(false).await.expect("b serves"), 1);
    assert_eq!(fleet.calls(), [2, 1]);
}

#[test]
fn services_are_send_and_sync_and_futures_send() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Registry<Svc>>();
    send_sync::<Balanced<Svc>>();
    send_sync::<Pinned<Svc>>();
    let fleet = Fleet::new(1, 1, ManualClock::new().shared());
    send(&fleet.balanced().call(false));
}
