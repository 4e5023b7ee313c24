//! The budget when the store fails, and reservations: concurrent calls, the soft limit with
//! exact reservations, and a failed call's reservation given back.

use std::time::Duration;

use agent_gateway_core::response::Reply;
use agent_gateway_core::store::{CounterStore, Rate, StoreError, Take, WindowOutcome};
use agent_gateway_core::{BoxError, Call, Denied, DeniedKind, Usage};
use async_trait::async_trait;
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt};

use super::*;

/// A store that is always down.
#[derive(Debug)]
struct Down;

#[async_trait]
impl CounterStore for Down {
    async fn add(&self, _: &str, _: u64, _: Option<Duration>) -> Result<u64, StoreError> {
        Err(StoreError::Timeout)
    }
    async fn incr_within(
        &self,
        _: &str,
        _: u64,
        _: u64,
        _: Duration,
    ) -> Result<WindowOutcome, StoreError> {
        Err(StoreError::Timeout)
    }
    async fn get(&self, _: &str) -> Result<u64, StoreError> {
        Err(StoreError::unavailable("down"))
    }
    async fn take(&self, _: &str, _: u64, _: Rate) -> Result<Take, StoreError> {
        Err(StoreError::Timeout)
    }
    async fn settle(&self, _: &str, _: i64, _: Rate) -> Result<(), StoreError> {
        Err(StoreError::Timeout)
    }
    async fn reset(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Timeout)
    }
}

#[tokio::test]
async fn a_failing_store_fails_closed_unless_fail_open_was_chosen() {
    let closed = BudgetLayer::new(Down).with_limit(Level::Tenant, cents(100));
    let upstream = model();
    let d = denied(send(&closed, &upstream, call(alice(), 1)).await);
    assert_eq!(
        (d.kind(), d.rule()),
        (&DeniedKind::Unavailable, Some("budget:tenant:acme"))
    );
    assert_eq!(upstream.calls(), 0);
    assert!(closed.spend(&Scope::tenant("acme")).await.is_err());

    let open = BudgetLayer::new(Down)
        .with_limit(Level::Tenant, cents(100))
        .with_limit(Level::Key, cents(100))
        .fail_open();
    assert!(send(&open, &upstream, call(alice(), 1)).await.is_ok());
    assert_eq!(upstream.calls(), 1);
    assert_eq!(open.fail_open_count(), 2);
    // The charge to key, team and tenant failed too, and was counted.
    assert_eq!(open.charge_failures(), 3);
}

/// Sends 64 calls at once, each costing `cost` cents, with the upstream holding every admitted
/// call until all 64 have been decided; returns how many were admitted.
async fn race(layer: &BudgetLayer, cost: u64) -> usize {
    // Local tasks: the futures need not be `Send`.
    tokio::task::LocalSet::new()
        .run_until(race_local(layer, cost))
        .await
}

async fn race_local(layer: &BudgetLayer, cost: u64) -> usize {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Semaphore;

    let gate = Arc::new(Semaphore::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let upstream = {
        let (gate, entered) = (gate.clone(), entered.clone());
        tower::service_fn(move |_: Call| {
            let (gate, entered) = (gate.clone(), entered.clone());
            async move {
                entered.fetch_add(1, Ordering::SeqCst);
                let _permit = gate.acquire().await.map_err(BoxError::from)?;
                Ok::<_, BoxError>(Reply::with_usage(
                    Value::Null,
                    Usage::tokens(10, 10).with_cost(cents(cost)),
                ))
            }
        })
    };
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let svc = ServiceBuilder::new()
            .layer(layer.clone())
            .service(upstream.clone());
        let refused = refused.clone();
        tasks.push(tokio::task::spawn_local(async move {
            if let Err(err) = svc.oneshot(call(alice(), cost)).await {
                let denied = Denied::find(err.as_ref()).expect("a denial");
                assert_eq!(denied.kind(), &DeniedKind::BudgetExhausted);
                refused.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Every call is decided (refused, or held in the upstream) before any of them ends.
    let mut polls = 0;
    while entered.load(Ordering::SeqCst) + refused.load(Ordering::SeqCst) < 64 {
        polls += 1;
        assert!(polls < 100_000, "the calls were never all decided");
        tokio::task::yield_now().await;
    }
    gate.add_permits(64);
    for task in tasks {
        task.await.expect("task");
    }
    charged().await;
    entered.load(Ordering::SeqCst)
}

/// Finding 13: 64 concurrent calls against a budget one call short of them overspend it by no
/// more than the stated bound (zero, when the estimate bounds the cost), where checking
/// `spent < limit` alone admitted every one of them.
#[tokio::test]
async fn concurrent_calls_cannot_overspend_a_reserved_budget() {
    let estimate = |cost: u64| move |_: &dyn AgentRequest| Some(cents(cost));
    // The estimate is the cost: exactly the 63 calls the budget holds are admitted.
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Key, cents(63 * 10))
        .with_estimate(estimate(10));
    assert_eq!(race(&layer, 10).await, 63);
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(630)
    );
    assert!(send(&layer, &model(), call(alice(), 10)).await.is_err());

    // An estimate above the cost admits fewer at once, and settling credits the rest back.
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Key, cents(63 * 10))
        .with_estimate(estimate(20));
    assert_eq!(race(&layer, 10).await, 31);
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(310)
    );
    assert!(send(&layer, &model(), call(alice(), 10)).await.is_ok());
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(320)
    );

    // Without an estimate, every call in flight is admitted: the overspend the docs state.
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer.with_limit(Level::Key, cents(63 * 10));
    assert_eq!(race(&layer, 10).await, 64);
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(640)
    );
}

/// The soft limit also fires for calls whose reservation was exact (no correction to make).
#[tokio::test]
async fn the_soft_limit_fires_with_exact_reservations() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Key, cents(100))
        .with_soft_limit(50)
        .with_estimate(|_: &dyn AgentRequest| Some(cents(30)));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok());
    assert_eq!(layer.soft_limit_hits(), 0);
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok()); // 60%: crosses 50%
    assert_eq!(layer.soft_limit_hits(), 1);
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(60)
    );
}

/// A call that fails, or whose response never reports usage, gives its reservation back.
#[tokio::test]
async fn a_failed_call_gives_its_reservation_back() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Key, cents(100))
        .with_estimate(|_: &dyn AgentRequest| Some(cents(60)));
    let failing = tower::service_fn(|_: Call| async { Err::<Reply, _>(BoxError::from("502")) });
    let res = ServiceBuilder::new()
        .layer(layer.clone())
        .service(failing)
        .oneshot(call(alice(), 0))
        .await;
    assert!(res.is_err());
    charged().await;
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        Cost::ZERO
    );
    // The whole budget is there again: a 60 cent reservation still fits.
    assert!(send(&layer, &model(), call(alice(), 60)).await.is_ok());
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(60)
    );
    // 40 left: a call that may cost 60 is refused before it runs.
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_err());
    assert_eq!(upstream.calls(), 0);
}
