use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::clock::ManualClock;
use crate::upstream::breaker::{BreakerConfig, CircuitOpen};
use crate::upstream::classify::ErrorsOrResponse;
use crate::upstream::registry::{InstanceId, Registry, UpstreamName};

/// A service that counts its calls and fails every one of them.
fn always_failing(
    calls: &Arc<AtomicUsize>,
) -> impl tower::Service<(), Response = (), Error = BoxError> + Clone {
    let calls = calls.clone();
    service_fn(move |()| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), BoxError>("down".into()) }
    })
}

#[tokio::test(start_paused = true)]
async fn the_budget_bounds_retries_of_a_failing_service() {
    // No reserve; each call deposits 1, each retry withdraws 5: one retry per five calls.
    let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(10), 0, 0.2));
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(always_failing(&calls));
    for _ in 0..100 {
        assert!(svc.clone().oneshot(()).await.is_err());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 100 + 20);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_budget_stops_retries() {
    // A reserve of three retries, and calls earn nothing.
    let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(1), 3, 0.0));
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(always_failing(&calls));
    assert!(svc.clone().oneshot(()).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1 + 3);
    assert!(svc.clone().oneshot(()).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1 + 3 + 1);
}

#[tokio::test(start_paused = true)]
async fn a_success_is_not_retried_and_spends_nothing() {
    let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(1), 1, 0.0));
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = {
        let calls = calls.clone();
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |ok: bool| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if ok {
                        Ok(())
                    } else {
                        Err::<(), BoxError>("down".into())
                    }
                }
            }))
    };
    svc.clone().oneshot(true).await.expect("ok");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The one reserved retry is still there.
    assert!(svc.clone().oneshot(false).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 1 + 2);
}

#[tokio::test(start_paused = true)]
async fn refusals_are_not_retried() {
    let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(1), 5, 0.0));
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = {
        let calls = calls.clone();
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |()| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), BoxError>(CircuitOpen::new(None).into()) }
            }))
    };
    let err = svc.oneshot(()).await.expect_err("refused");
    assert!(err.is::<CircuitOpen>());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_classifier_can_retry_responses() {
    let layer = BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(1), 5, 0.0))
        .with_classifier(ErrorsOrResponse::new(|status: &u16| *status == 503));
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = {
        let calls = calls.clone();
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(move |()| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<u16, BoxError>(if n == 0 { 503 } else { 200 }) }
            }))
    };
    assert_eq!(svc.oneshot(()).await.expect("response"), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_retry_succeeds_on_another_instance() {
    let counts: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let instance = |index: usize| {
        let counts = counts.clone();
        service_fn(move |()| {
            counts[index].fetch_add(1, Ordering::SeqCst);
            async move {
                if index == 0 {
                    Err::<usize, BoxError>("a is down".into())
                } else {
                    Ok(index)
                }
            }
        })
    };
    let name = UpstreamName::new("u").expect("valid");
    let registry = Registry::builder()
        .instance(
            name.clone(),
            InstanceId::new("a").expect("valid"),
            instance(0),
        )
        .instance(name, InstanceId::new("b").expect("valid"), instance(1))
        .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
        .with_clock(ManualClock::new().shared())
        .with_seed(7)
        .build()
        .expect("valid");
    let upstream = registry.get("u").expect("present");
    // `a` looks faster, so the first attempt goes there.
    upstream.instances()[0]
        .load()
        .record(Duration::from_millis(1));
    upstream.instances()[1]
        .load()
        .record(Duration::from_millis(100));

    let svc = ServiceBuilder::new()
        .layer(BudgetRetryLayer::new(TpsBudget::new(
            Duration::from_secs(1),
            1,
            0.0,
        )))
        .service(registry.balanced("u").expect("present"));
    assert_eq!(svc.oneshot(()).await.expect("retried on b"), 1);
    assert_eq!(counts[0].load(Ordering::SeqCst), 1);
    assert_eq!(counts[1].load(Ordering::SeqCst), 1);
}
