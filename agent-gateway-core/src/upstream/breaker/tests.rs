use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::clock::{ManualClock, SystemClock};
use crate::upstream::error::find;
use crate::upstream::timeout::{Elapsed, TimeoutLayer};

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

const COOLDOWN: Duration = Duration::from_secs(10);

fn breaker(threshold: u32, probes: u32) -> (Breaker, ManualClock) {
    let clock = ManualClock::new();
    let config = BreakerConfig::new(nz(threshold), COOLDOWN).with_probes(nz(probes));
    (Breaker::new(config, clock.shared()), clock)
}

fn fail(breaker: &Breaker, times: usize) {
    for _ in 0..times {
        breaker.try_acquire().expect("admitted").failed();
    }
}

#[test]
fn opens_after_consecutive_failures_only() {
    let (b, _clock) = breaker(3, 1);
    fail(&b, 2);
    b.try_acquire().expect("admitted").succeeded(); // resets the count
    fail(&b, 2);
    assert_eq!(b.state(), BreakerState::Closed);
    fail(&b, 1);
    assert_eq!(b.state(), BreakerState::Open);
    let open = b.try_acquire().expect_err("open");
    assert_eq!(open.retry_after(), Some(COOLDOWN));
}

#[test]
fn half_opens_after_cooldown_and_admits_exactly_the_probes() {
    let (b, clock) = breaker(1, 3);
    fail(&b, 1);
    clock.advance(COOLDOWN - Duration::from_millis(1));
    let open = b.try_acquire().expect_err("still cooling down");
    assert_eq!(open.retry_after(), Some(Duration::from_millis(1)));
    assert_eq!(b.state(), BreakerState::Open);

    clock.advance(Duration::from_millis(1));
    assert_eq!(b.state(), BreakerState::HalfOpen);
    let probes: Vec<Permit> = (0..3).map(|_| b.try_acquire().expect("probe")).collect();
    assert!(probes.iter().all(Permit::is_probe));
    let full = b.try_acquire().expect_err("every probe slot is taken");
    assert_eq!(full.retry_after(), None);
    assert_eq!(b.state(), BreakerState::HalfOpen);
}

#[test]
fn a_probe_success_closes() {
    let (b, clock) = breaker(1, 2);
    fail(&b, 1);
    clock.advance(COOLDOWN);
    let first = b.try_acquire().expect("probe");
    let second = b.try_acquire().expect("probe");
    first.succeeded();
    assert_eq!(b.state(), BreakerState::Closed);
    // The other probe's late failure belongs to the half-open state and is ignored.
    second.failed();
    assert_eq!(b.state(), BreakerState::Closed);
    let permit = b.try_acquire().expect("closed");
    assert!(!permit.is_probe());
}

#[test]
fn a_probe_failure_reopens_with_a_growing_capped_cooldown() {
    let clock = ManualClock::new();
    let config = BreakerConfig::new(nz(1), COOLDOWN).with_max_cooldown(Duration::from_secs(25));
    let b = Breaker::new(config, clock.shared());
    fail(&b, 1);
    for expected in [20, 25, 25] {
        clock.advance(
            b.try_acquire()
                .expect_err("open")
                .retry_after()
                .expect("open"),
        );
        b.try_acquire().expect("probe").failed();
        let open = b.try_acquire().expect_err("re-opened");
        assert_eq!(open.retry_after(), Some(Duration::from_secs(expected)));
    }
    // A successful probe resets the cooldown to its base.
    clock.advance(Duration::from_secs(25));
    b.try_acquire().expect("probe").succeeded();
    fail(&b, 1);
    let open = b.try_acquire().expect_err("open");
    assert_eq!(open.retry_after(), Some(COOLDOWN));
}

#[test]
fn a_cancelled_probe_frees_its_slot() {
    let (b, clock) = breaker(1, 1);
    fail(&b, 1);
    clock.advance(COOLDOWN);
    let probe = b.try_acquire().expect("probe");
    assert!(b.try_acquire().is_err());
    drop(probe);
    assert!(b.try_acquire().expect("the slot is free again").is_probe());
}

#[test]
fn an_outcome_from_before_the_breaker_opened_is_ignored() {
    let (b, _clock) = breaker(1, 1);
    let slow = b.try_acquire().expect("admitted");
    fail(&b, 1);
    slow.succeeded();
    assert_eq!(b.state(), BreakerState::Open);
}

#[tokio::test]
async fn layer_fails_fast_without_calling_the_inner_service() {
    let clock = ManualClock::new();
    let layer =
        CircuitBreakerLayer::new(BreakerConfig::new(nz(2), COOLDOWN)).with_clock(clock.shared());
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = {
        let calls = calls.clone();
        ServiceBuilder::new()
            .layer(layer.clone())
            .service(service_fn(move |ok: bool| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { if ok { Ok("pong") } else { Err("down") } }
            }))
    };
    assert_eq!(svc.clone().oneshot(true).await.expect("closed"), "pong");
    for _ in 0..2 {
        let err = svc.clone().oneshot(false).await.expect_err("inner fails");
        assert_eq!(err.to_string(), "down");
    }
    let err = svc.clone().oneshot(true).await.expect_err("open");
    assert!(find::<CircuitOpen>(&*err).is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    clock.advance(COOLDOWN);
    assert_eq!(svc.clone().oneshot(true).await.expect("probe"), "pong");
    assert_eq!(layer.breaker().state(), BreakerState::Closed);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn classifier_counts_ok_responses_as_failures() {
    let layer = CircuitBreakerLayer::new(BreakerConfig::new(nz(1), COOLDOWN))
        .with_classifier(|r: &Result<u16, BoxError>| !matches!(r, Ok(200)));
    let svc = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn(|status: u16| async move {
            Ok::<_, BoxError>(status)
        }));
    assert_eq!(svc.clone().oneshot(200).await.expect("ok"), 200);
    assert_eq!(layer.breaker().state(), BreakerState::Closed);
    // The 503 reaches the caller untouched, and opens the breaker.
    assert_eq!(svc.clone().oneshot(503).await.expect("a response"), 503);
    assert_eq!(layer.breaker().state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_as_a_failure() {
    let layer = CircuitBreakerLayer::new(BreakerConfig::new(nz(2), COOLDOWN))
        .with_clock(SystemClock::shared());
    let svc = ServiceBuilder::new()
        .layer(layer.clone())
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .service(service_fn(|delay_ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Ok::<_, BoxError>(delay_ms)
        }));
    assert_eq!(svc.clone().oneshot(10).await.expect("in time"), 10);
    for _ in 0..2 {
        let err = svc.clone().oneshot(500).await.expect_err("too slow");
        assert!(find::<Elapsed>(&*err).is_some());
    }
    assert_eq!(layer.breaker().state(), BreakerState::Open);
    let err = svc.clone().oneshot(10).await.expect_err("open");
    assert!(find::<CircuitOpen>(&*err).is_some());
}
