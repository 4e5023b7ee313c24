use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_gateway_core::clock::ManualClock;
use agent_gateway_core::response::{Outcome, Reply};
use agent_gateway_core::store::{CounterStore, MemoryStore};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, BoxError, Call, Caller, Cost, Denied, DeniedKind, Usage};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

use super::*;
use crate::key::{MissingKey, Target};

fn cents(n: u64) -> Cost {
    Cost::from_nano_usd(n * 10_000_000)
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2026-11-22T23:00:00Z
const NOV_22_23H: u64 = 1_795_388_400;
/// 2026-11-30T12:00:00Z
const NOV_30_NOON: u64 = 1_796_040_000;

/// A call whose fake upstream reports it cost `cost` cents.
fn call(caller: Caller, cost: u64) -> Call {
    Call::new(Action::ModelCall, json!({ "cents": cost })).with_caller(caller)
}

fn alice() -> Caller {
    Caller::new("alice")
        .with_team("billing")
        .with_tenant("acme")
}

/// The store key of alice's spend on 2026-11-22.
fn alice_day_key() -> String {
    format!("{}:2026-11-22", Scope::key(alice().principal_id()).rule())
}

fn model() -> FakeUpstream<impl Fn(Call) -> Result<Reply, Infallible> + Clone> {
    FakeUpstream::new(|call: Call| {
        let cost = call
            .arguments()
            .and_then(|a| a["cents"].as_u64())
            .unwrap_or(0);
        Ok(Reply::with_usage(
            Value::Null,
            Usage::tokens(10, 10).with_cost(cents(cost)),
        ))
    })
}

fn layer_at(wall: u64) -> (ManualClock, MemoryStore, BudgetLayer) {
    let clock = ManualClock::starting_at(at(wall));
    let store = MemoryStore::with_clock(clock.shared());
    let layer = BudgetLayer::new(store.clone()).with_clock(clock.shared());
    (clock, store, layer)
}

async fn send<F>(
    layer: &BudgetLayer,
    upstream: &FakeUpstream<F>,
    req: Call,
) -> Result<Reply, BoxError>
where
    FakeUpstream<F>:
        tower::Service<Call, Response = Reply, Error = Infallible> + Clone + Send + 'static,
    <FakeUpstream<F> as tower::Service<Call>>::Future: Send,
{
    let res = ServiceBuilder::new()
        .layer(layer.clone())
        .service(upstream.clone())
        .oneshot(req)
        .await;
    charged().await;
    res
}

/// Lets the charge tasks the layer spawned run (one poll each on a MemoryStore).
async fn charged() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

fn denied(result: Result<Reply, BoxError>) -> Denied {
    let err = result.expect_err("expected a denial");
    Denied::find(err.as_ref())
        .expect("a Denied in the chain")
        .clone()
}

async fn spent(layer: &BudgetLayer, scope: Scope) -> Cost {
    layer.spend(&scope).await.expect("spend").spent
}

#[tokio::test]
async fn a_key_is_refused_once_its_budget_is_spent_and_the_upstream_is_not_called() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer.with_limit(Level::Key, cents(100));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 60)).await.is_ok());
    assert!(send(&layer, &upstream, call(alice(), 60)).await.is_ok());
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(120)
    );
    let d = denied(send(&layer, &upstream, call(alice(), 1)).await);
    assert_eq!(d.kind(), &DeniedKind::BudgetExhausted);
    let rule = Scope::key(alice().principal_id()).rule();
    assert_eq!(rule, "budget:key:custom%3A%3Aacme%3Aalice");
    assert_eq!(d.rule(), Some(rule.as_str()));
    assert_eq!(upstream.calls(), 2);
    // Everyone else still has their own budget.
    assert!(
        send(&layer, &upstream, call(Caller::new("bob"), 1))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_exhausted_tenant_blocks_a_key_that_has_budget_left() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Key, cents(1_000))
        .with_limit(Level::Tenant, cents(100));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 100)).await.is_ok());

    let bob = Caller::new("bob").with_tenant("acme");
    let d = denied(send(&layer, &upstream, call(bob, 1)).await);
    assert_eq!(d.rule(), Some("budget:tenant:acme"));
    let key = layer.spend(&Scope::key("bob")).await.expect("spend");
    assert_eq!(
        (key.spent, key.remaining()),
        (Cost::ZERO, Some(cents(1_000)))
    );

    let elsewhere = Caller::new("carol").with_tenant("globex");
    assert!(send(&layer, &upstream, call(elsewhere, 1)).await.is_ok());
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_scope_limit_overrides_its_level_and_every_level_is_charged() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_limit(Level::Team, cents(1_000))
        .with_scope_limit(Scope::team("billing"), cents(50));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 50)).await.is_ok());
    let d = denied(send(&layer, &upstream, call(alice(), 1)).await);
    assert_eq!(d.rule(), Some("budget:team:billing"));
    let ops = Caller::new("dan").with_team("ops");
    assert!(
        send(&layer, &upstream, call(ops.clone(), 500))
            .await
            .is_ok()
    );
    assert!(send(&layer, &upstream, call(ops, 500)).await.is_ok());

    // Spend is tracked at every level, limited or not.
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(50)
    );
    assert_eq!(spent(&layer, Scope::tenant("acme")).await, cents(50));
    assert_eq!(spent(&layer, Scope::team("ops")).await, cents(1_000));
    let report = layer.spend(&Scope::team("ops")).await.expect("spend");
    assert_eq!(report.limit, Some(cents(1_000)));
    assert_eq!(report.remaining(), Some(Cost::ZERO));
    assert_eq!(report.period_end, Some(at(1_796_083_200))); // 2026-12-01T00:00Z
}

#[tokio::test]
async fn a_daily_budget_starts_again_at_midnight_utc() {
    let (clock, store, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_period(Period::Daily)
        .with_limit(Level::Key, cents(100));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 100)).await.is_ok());
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_err());
    assert_eq!(store.get(&alice_day_key()).await.ok(), Some(1_000_000_000));

    clock.advance(Duration::from_secs(3_599));
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_err());
    clock.advance(Duration::from_secs(1));
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok());
    let today = layer
        .spend(&Scope::key(alice().principal_id()))
        .await
        .expect("spend");
    assert_eq!(today.spent, cents(30));
    assert_eq!(today.period_end, Some(at(NOV_22_23H + 3_600 + 86_400)));
    // Yesterday's key expired with its period.
    assert_eq!(store.get(&alice_day_key()).await.ok(), Some(0));
}

#[tokio::test]
async fn a_monthly_budget_rolls_over_on_the_first() {
    let (clock, store, layer) = layer_at(NOV_30_NOON);
    let layer = layer.with_limit(Level::Tenant, cents(100));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 150)).await.is_ok());
    clock.advance(Duration::from_secs(11 * 3_600));
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_err());
    clock.advance(Duration::from_secs(3_600));
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_ok());
    assert_eq!(
        store.get("budget:tenant:acme:2026-12").await.ok(),
        Some(10_000_000)
    );
    assert_eq!(store.get("budget:tenant:acme:2026-11").await.ok(), Some(0));
}

#[tokio::test]
async fn a_budget_that_never_resets_stays_spent() {
    let (clock, _, layer) = layer_at(NOV_30_NOON);
    let layer = layer
        .with_period(Period::Never)
        .with_limit(Level::Key, cents(100));
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 100)).await.is_ok());
    clock.advance(Duration::from_secs(400 * 86_400));
    assert!(send(&layer, &upstream, call(alice(), 1)).await.is_err());
    let report = layer
        .spend(&Scope::key(alice().principal_id()))
        .await
        .expect("spend");
    assert_eq!((report.spent, report.period_end), (cents(100), None));
}

#[tokio::test]
async fn the_soft_limit_fires_once_per_period() {
    let (clock, _, layer) = layer_at(NOV_22_23H);
    let layer = layer
        .with_period(Period::Daily)
        .with_limit(Level::Key, cents(100))
        .with_soft_limit(80);
    let upstream = model();
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok());
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok());
    assert_eq!(layer.soft_limit_hits(), 0);
    assert!(send(&layer, &upstream, call(alice(), 30)).await.is_ok()); // 90%: crosses 80%
    assert_eq!(layer.soft_limit_hits(), 1);
    assert!(send(&layer, &upstream, call(alice(), 5)).await.is_ok()); // 95%: already past
    assert_eq!(layer.soft_limit_hits(), 1);

    clock.advance(Duration::from_secs(3_600)); // the next day
    assert!(send(&layer, &upstream, call(alice(), 80)).await.is_ok()); // exactly 80%
    assert_eq!(layer.soft_limit_hits(), 2);
}

#[tokio::test]
async fn spend_is_charged_when_a_stream_ends_and_only_if_it_has_a_cost() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, Infallible>(Reply::new(Value::Null)));
    let reply = send(&layer, &upstream, call(alice(), 0))
        .await
        .expect("admitted");
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        Cost::ZERO
    );
    let report = reply.usage_report().expect("a report");
    report.complete(Usage::tokens(1, 1).with_cost(cents(7)), Outcome::Aborted);
    charged().await;
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(7)
    );
    assert_eq!(spent(&layer, Scope::team("billing")).await, cents(7));

    let unpriced = send(&layer, &upstream, call(alice(), 0))
        .await
        .expect("admitted");
    let report = unpriced.usage_report().expect("a report");
    report.complete(Usage::tokens(1, 1), Outcome::Complete);
    charged().await;
    assert_eq!(
        spent(&layer, Scope::key(alice().principal_id())).await,
        cents(7)
    );
}

#[tokio::test]
async fn a_request_without_a_key_is_refused_unless_told_to_skip() {
    let (_, _, layer) = layer_at(NOV_22_23H);
    let layer = layer.with_limit(Level::Key, cents(100));
    let upstream = model();
    let anonymous = Call::new(Action::ToolCall, json!({}));
    let d = denied(send(&layer, &upstream, anonymous.clone()).await);
    assert_eq!(
        (d.kind(), d.rule()),
        (&DeniedKind::Forbidden, Some("budget:key"))
    );
    assert_eq!(upstream.calls(), 0);

    let by_target = layer
        .clone()
        .with_key(Target)
        .with_missing_key(MissingKey::Skip);
    assert!(send(&by_target, &upstream, anonymous).await.is_ok());
    let targeted = call(alice(), 100).with_target("gpt-4o");
    assert!(send(&by_target, &upstream, targeted.clone()).await.is_ok());
    assert_eq!(spent(&by_target, Scope::key("gpt-4o")).await, cents(100));
    assert_eq!(
        denied(send(&by_target, &upstream, targeted).await).rule(),
        Some("budget:key:gpt-4o")
    );
}

mod reserve;
