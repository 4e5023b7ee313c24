//! Weights and tiers in the pick, on a manual clock.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tower::util::BoxCloneSyncService;
use tower::{ServiceExt, service_fn};

use super::*;
use crate::clock::ManualClock;
use crate::upstream::breaker::{BreakerConfig, BreakerState};
use crate::upstream::error::{NoHealthyInstance, find};
use crate::upstream::registry::{InstanceConfig, InstanceId, Registry, UpstreamName};

const COOLDOWN: Duration = Duration::from_secs(30);

type Svc = BoxCloneSyncService<(), usize, BoxError>;

/// Instances of upstream "u", one per `(weight, tier)`, counting their calls and failing while
/// their flag is set; breakers open on the first failure.
struct Tiered {
    registry: Registry<Svc>,
    calls: Arc<Vec<AtomicUsize>>,
    failing: Arc<Vec<AtomicBool>>,
}

impl Tiered {
    fn new(placements: &[(u32, u32)], clock: &ManualClock) -> Self {
        let n = placements.len();
        let calls: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let failing: Arc<Vec<AtomicBool>> =
            Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
        let mut builder = Registry::builder()
            .with_breaker(BreakerConfig::new(NonZeroU32::MIN, COOLDOWN))
            .with_clock(clock.shared())
            .with_seed(7);
        for (index, &(weight, tier)) in placements.iter().enumerate() {
            let (calls, failing) = (calls.clone(), failing.clone());
            let svc = service_fn(move |()| {
                calls[index].fetch_add(1, Ordering::SeqCst);
                let fail = failing[index].load(Ordering::SeqCst);
                async move {
                    if fail {
                        Err::<usize, BoxError>("down".into())
                    } else {
                        Ok(index)
                    }
                }
            });
            let config = InstanceConfig::new()
                .with_weight(NonZeroU32::new(weight).expect("non-zero"))
                .with_tier(tier);
            builder = builder.instance_with(
                UpstreamName::new("u").expect("valid"),
                InstanceId::new(format!("i{index}")).expect("valid"),
                BoxCloneSyncService::new(svc),
                config,
            );
        }
        Tiered {
            registry: builder.build().expect("valid"),
            calls,
            failing,
        }
    }

    fn balanced(&self) -> Balanced<Svc> {
        self.registry.balanced("u").expect("present")
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

#[tokio::test]
async fn a_tier_splits_by_weight_when_loads_are_alike() {
    let fleet = Tiered::new(&[(1, 0), (1, 0), (8, 0)], &ManualClock::new());
    let balanced = fleet.balanced();
    for _ in 0..1000 {
        balanced.clone().oneshot(()).await.expect("served");
    }
    let calls = fleet.calls();
    assert_eq!(calls.iter().sum::<usize>(), 1000);
    // Equal cost per unit of weight: the heavy one wins whenever it is drawn (97.8%).
    assert!(calls[2] > 950, "{calls:?}");
    assert!(
        calls[0] > 0 && calls[1] > 0,
        "the light ones serve too: {calls:?}"
    );
    let upstream = fleet.registry.get("u").expect("present");
    assert_eq!(upstream.instances()[2].weight().get(), 8);
}

#[tokio::test]
async fn the_next_tier_serves_only_while_the_better_one_is_out() {
    let clock = ManualClock::new();
    // Two instances in tier 0, one in tier 1 (added first: the order of tiers is by number).
    let fleet = Tiered::new(&[(1, 1), (1, 0), (1, 0)], &clock);
    let balanced = fleet.balanced();
    let tiers: Vec<&[usize]> = fleet.registry.get("u").expect("present").tiers().collect();
    assert_eq!(tiers, [&[1, 2][..], &[0][..]]);
    for _ in 0..20 {
        assert_ne!(balanced.clone().oneshot(()).await.expect("served"), 0);
    }
    assert_eq!(fleet.calls()[0], 0);

    // Tier 0 fails: each failure opens a breaker, then tier 1 serves.
    fleet.fail(1, true);
    fleet.fail(2, true);
    assert!(balanced.clone().oneshot(()).await.is_err());
    assert!(balanced.clone().oneshot(()).await.is_err());
    for _ in 0..5 {
        assert_eq!(balanced.clone().oneshot(()).await.expect("tier 1"), 0);
    }
    assert_eq!(fleet.calls()[0], 5);

    // After the cooldown, tier 0 is probed first; a recovered instance takes the calls back.
    fleet.fail(1, false);
    clock.advance(COOLDOWN);
    let mut served = Vec::new();
    for _ in 0..4 {
        served.push(balanced.clone().oneshot(()).await);
    }
    let instance = |i: usize| {
        fleet.registry.get("u").expect("present").instances()[i]
            .breaker()
            .state()
    };
    assert_eq!(instance(1), BreakerState::Closed);
    assert_eq!(instance(2), BreakerState::Open);
    // Only the failed probe of instance 2 erred; nothing more went to tier 1.
    assert_eq!(served.iter().filter(|r| r.is_err()).count(), 1);
    assert!(served.iter().flatten().all(|&i| i == 1), "{served:?}");
    assert_eq!(fleet.calls()[0], 5);
}

#[tokio::test]
async fn pick_where_passes_instances_over_and_falls_to_the_next_tier() {
    let fleet = Tiered::new(&[(1, 0), (1, 0), (1, 1)], &ManualClock::new());
    let balanced = fleet.balanced();
    // Tier 0 excluded by the caller (say, both already tried): tier 1 serves.
    let picked = balanced.pick_where(|i| i == 2).expect("admissible");
    assert_eq!((picked.index(), picked.is_probe()), (2, false));
    assert_eq!(balanced.call_picked(picked, ()).await.expect("served"), 2);
    // A pick dropped without a call reports nothing and calls no one.
    drop(balanced.pick_where(|i| i == 0).expect("admissible"));
    assert_eq!(fleet.calls(), [0, 0, 1]);
    // Nothing eligible: refused at once, with no wait to suggest.
    let err = balanced.pick_where(|_| false).expect_err("none");
    assert_eq!(err.retry_after(), None);
    let err: BoxError = err.into();
    assert!(find::<NoHealthyInstance>(&*err).is_some());
    assert_eq!(fleet.calls(), [0, 0, 1]);
}
