use std::convert::Infallible;
use std::num::NonZeroU64;
use std::time::Duration;

use agent_gateway_core::clock::ManualClock;
use agent_gateway_core::response::{Outcome, Reply};
use agent_gateway_core::store::{CounterStore, MemoryStore, Rate, StoreError, Take, WindowOutcome};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, BoxError, Call, Caller, Denied, DeniedKind, Usage};
use async_trait::async_trait;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

use super::*;
use crate::key::{CallerId, MissingKey, Subject, Team, Tenant};

fn rate(limit: u64, period: Duration) -> Rate {
    Rate::new(NonZeroU64::new(limit).expect("non-zero"), period)
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// A call by `subject` of tenant `acme`, whose fake upstream reports `actual` tokens used.
fn call(subject: &str, estimate: u64, actual: u64) -> Call {
    Call::new(Action::ModelCall, json!({ "actual": actual }))
        .with_caller(Caller::new(subject).with_tenant("acme"))
        .with_estimated_input_tokens(estimate)
}

/// A fake model: its usage is the `actual` argument of the call, as input tokens.
fn model() -> FakeUpstream<impl Fn(Call) -> Result<Reply, Infallible> + Clone> {
    FakeUpstream::new(|call: Call| {
        let actual = call
            .arguments()
            .and_then(|a| a["actual"].as_u64())
            .unwrap_or(0);
        Ok(Reply::with_usage(Value::Null, Usage::tokens(actual, 0)))
    })
}

fn setup(layer: impl FnOnce(MemoryStore) -> QuotaLayer) -> (ManualClock, MemoryStore, QuotaLayer) {
    let clock = ManualClock::new();
    let store = MemoryStore::with_clock(clock.shared());
    let layer = layer(store.clone());
    (clock, store, layer)
}

async fn send<F>(
    layer: &QuotaLayer,
    upstream: &FakeUpstream<F>,
    req: Call,
) -> Result<Reply, BoxError>
where
    FakeUpstream<F>:
        tower::Service<Call, Response = Reply, Error = Infallible> + Clone + Send + 'static,
    <FakeUpstream<F> as tower::Service<Call>>::Future: Send,
{
    ServiceBuilder::new()
        .layer(layer.clone())
        .service(upstream.clone())
        .oneshot(req)
        .await
}

fn denied(result: Result<Reply, BoxError>) -> Denied {
    let err = result.expect_err("expected a denial");
    Denied::find(err.as_ref())
        .expect("a Denied in the chain")
        .clone()
}

/// Lets the settlement tasks the layer spawned run (they complete in one poll on a
/// MemoryStore).
async fn settled() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn requests_over_the_rate_are_denied_with_an_exact_retry_after_and_never_reach_upstream() {
    let (clock, _, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::requests("rps", Subject, rate(2, SECOND))));
    let upstream = model();
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert_eq!(
        d.kind(),
        &DeniedKind::QuotaExceeded {
            retry_after: Duration::from_millis(500)
        }
    );
    assert_eq!(d.rule(), Some("rps"));
    assert_eq!(upstream.calls(), 2);

    // Another key has its own allowance.
    assert!(send(&layer, &upstream, call("bob", 0, 0)).await.is_ok());

    clock.advance(Duration::from_millis(499));
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert_eq!(d.retry_after(), Some(Duration::from_millis(1)));
    clock.advance(Duration::from_millis(1));
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    assert_eq!(upstream.calls(), 4);
}

#[tokio::test]
async fn token_estimates_are_settled_with_the_actual_usage() {
    // 1000 tokens per minute: one token comes back every 60 ms.
    let (_, store, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::tokens("tpm", Subject, rate(1000, MINUTE))));
    let upstream = model();
    let tpm = rate(1000, MINUTE);

    // Estimated 100, used 300: the key owes 200 more.
    assert!(
        send(&layer, &upstream, call("alice", 100, 300))
            .await
            .is_ok()
    );
    settled().await;
    assert_eq!(
        store
            .take("quota:tpm:alice", 0, tpm)
            .await
            .map(|t| t.remaining)
            .ok(),
        Some(700)
    );
    // So 800 more no longer fit: 1100 tokens would need 6 s more than the minute allows.
    let d = denied(send(&layer, &upstream, call("alice", 800, 800)).await);
    assert_eq!(d.retry_after(), Some(Duration::from_secs(6)));
    assert_eq!(upstream.calls(), 1);

    // Estimated 500, used 100: 400 come back.
    assert!(
        send(&layer, &upstream, call("alice", 500, 100))
            .await
            .is_ok()
    );
    settled().await;
    assert_eq!(
        store
            .take("quota:tpm:alice", 0, tpm)
            .await
            .map(|t| t.remaining)
            .ok(),
        Some(600)
    );
}

#[tokio::test]
async fn a_streamed_response_is_settled_only_when_it_ends() {
    let (_, store, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::tokens("tpm", Subject, rate(1000, MINUTE))));
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, Infallible>(Reply::new(Value::Null)));
    let tpm = rate(1000, MINUTE);
    let reply = send(&layer, &upstream, call("alice", 100, 0))
        .await
        .expect("admitted");
    settled().await;
    assert_eq!(
        store
            .take("quota:tpm:alice", 0, tpm)
            .await
            .map(|t| t.remaining)
            .ok(),
        Some(900)
    );
    let report = reply.usage_report().expect("a report");
    report.complete(Usage::tokens(100, 250), Outcome::Aborted);
    settled().await;
    assert_eq!(
        store
            .take("quota:tpm:alice", 0, tpm)
            .await
            .map(|t| t.remaining)
            .ok(),
        Some(650)
    );
}

#[tokio::test]
async fn the_output_allowance_is_charged_up_front() {
    let (_, store, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(
            Limit::tokens("tpm", Subject, rate(1000, MINUTE)).with_output_allowance(400),
        )
    });
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, Infallible>(Reply::new(Value::Null)));
    send(&layer, &upstream, call("alice", 100, 0))
        .await
        .expect("admitted");
    let peek = store
        .take("quota:tpm:alice", 0, rate(1000, MINUTE))
        .await
        .ok();
    assert_eq!(peek.map(|t| t.remaining), Some(500));
    // 600 estimated + 400 allowance = 1000 fits exactly; one more token would not.
    let d = denied(send(&layer, &upstream, call("alice", 101, 0)).await);
    assert_eq!(d.retry_after(), Some(Duration::from_millis(60)));
}

#[tokio::test]
async fn a_request_larger_than_the_limit_is_a_bad_request_not_a_retry() {
    let (_, _, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::tokens("tpm", Subject, rate(1000, MINUTE))));
    let upstream = model();
    let d = denied(send(&layer, &upstream, call("alice", 1001, 0)).await);
    assert_eq!(d.kind(), &DeniedKind::BadRequest);
    assert_eq!(d.rule(), Some("tpm"));
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn every_limit_must_pass_and_a_refused_request_costs_nothing() {
    let (_, store, layer) = setup(|s| {
        QuotaLayer::new(s)
            .with_limit(Limit::requests("per-caller", Subject, rate(10, SECOND)))
            .with_limit(Limit::requests("per-tenant", Tenant, rate(1, SECOND)))
    });
    let upstream = model();
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    let d = denied(send(&layer, &upstream, call("bob", 0, 0)).await);
    assert_eq!(d.rule(), Some("per-tenant"));
    assert_eq!(upstream.calls(), 1);
    // Bob's per-caller unit was given back when the tenant limit refused him.
    let bob = store
        .take("quota:per-caller:bob", 0, rate(10, SECOND))
        .await
        .ok();
    assert_eq!(
        bob.map(|t| (t.remaining, t.reset_after)),
        Some((10, Duration::ZERO))
    );
    let alice = store
        .take("quota:per-caller:alice", 0, rate(10, SECOND))
        .await
        .ok();
    assert_eq!(alice.map(|t| t.remaining), Some(9));
}

#[tokio::test]
async fn a_missing_key_is_denied_unless_the_limit_skips_it() {
    let (_, _, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(Limit::requests("per-team", Team, rate(1, SECOND)))
    });
    let upstream = model();
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert_eq!(d.kind(), &DeniedKind::Forbidden);
    assert_eq!(d.rule(), Some("per-team"));
    let anonymous = Call::new(Action::ToolCall, json!({}));
    assert!(send(&layer, &upstream, anonymous).await.is_err());
    assert_eq!(upstream.calls(), 0);

    let (_, _, skipping) = setup(|s| {
        QuotaLayer::new(s).with_limit(
            Limit::requests("per-team", Team, rate(1, SECOND)).with_missing_key(MissingKey::Skip),
        )
    });
    for _ in 0..3 {
        assert!(
            send(&skipping, &upstream, call("alice", 0, 0))
                .await
                .is_ok()
        );
    }
    let team = Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("x").with_team("t"));
    assert!(send(&skipping, &upstream, team.clone()).await.is_ok());
    assert!(
        send(&skipping, &upstream, team).await.is_err(),
        "the limit applies to keyed requests"
    );
    assert_eq!(upstream.calls(), 4);
}

#[tokio::test]
async fn a_fixed_window_counts_exactly_until_it_ends() {
    let (clock, _, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(
            Limit::requests("rpm", Subject, rate(3, MINUTE)).with_algorithm(Algorithm::FixedWindow),
        )
    });
    let upstream = model();
    for _ in 0..3 {
        assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    }
    clock.advance(Duration::from_secs(20));
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert_eq!(d.retry_after(), Some(Duration::from_secs(40)));
    assert_eq!(upstream.calls(), 3);
    clock.advance(Duration::from_secs(40));
    for _ in 0..3 {
        assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    }
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_err());
}

#[tokio::test]
async fn a_fixed_window_token_limit_charges_overruns() {
    let (_, store, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(
            Limit::tokens("tpd", Subject, rate(1000, MINUTE))
                .with_algorithm(Algorithm::FixedWindow),
        )
    });
    let upstream = model();
    assert!(
        send(&layer, &upstream, call("alice", 100, 700))
            .await
            .is_ok()
    );
    settled().await;
    assert_eq!(store.get("quota:tpd:alice").await.ok(), Some(700));
    // Under-use is not refunded in a window.
    assert!(
        send(&layer, &upstream, call("alice", 200, 50))
            .await
            .is_ok()
    );
    settled().await;
    assert_eq!(store.get("quota:tpd:alice").await.ok(), Some(900));
    assert!(
        send(&layer, &upstream, call("alice", 101, 0))
            .await
            .is_err()
    );
}

/// A store that is always down.
#[derive(Debug)]
pub(crate) struct Down;

#[async_trait]
impl CounterStore for Down {
    async fn add(&self, _: &str, _: u64, _: Option<Duration>) -> Result<u64, StoreError> {
        Err(StoreError::unavailable("down"))
    }
    async fn incr_within(
        &self,
        _: &str,
        _: u64,
        _: u64,
        _: Duration,
    ) -> Result<WindowOutcome, StoreError> {
        Err(StoreError::unavailable("down"))
    }
    async fn get(&self, _: &str) -> Result<u64, StoreError> {
        Err(StoreError::Timeout)
    }
    async fn take(&self, _: &str, _: u64, _: Rate) -> Result<Take, StoreError> {
        Err(StoreError::Timeout)
    }
    async fn settle(&self, _: &str, _: i64, _: Rate) -> Result<(), StoreError> {
        Err(StoreError::unavailable("down"))
    }
    async fn reset(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::unavailable("down"))
    }
}

#[tokio::test]
async fn a_failing_store_fails_closed() {
    let layer = QuotaLayer::new(Down).with_limit(Limit::requests("rps", Subject, rate(5, SECOND)));
    let upstream = model();
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert_eq!(d.kind(), &DeniedKind::Unavailable);
    assert_eq!(d.rule(), Some("rps"));
    assert_eq!(upstream.calls(), 0);
    assert_eq!(layer.fail_open_count(), 0);
}

#[tokio::test]
async fn fail_open_lets_requests_through_and_counts_them() {
    let layer = QuotaLayer::new(Down)
        .with_limit(Limit::requests("rps", Subject, rate(5, SECOND)))
        .with_limit(Limit::tokens("tpm", Subject, rate(5, SECOND)))
        .fail_open();
    let upstream = model();
    assert!(send(&layer, &upstream, call("alice", 3, 4)).await.is_ok());
    assert!(send(&layer, &upstream, call("alice", 3, 4)).await.is_ok());
    assert_eq!(upstream.calls(), 2);
    assert_eq!(layer.fail_open_count(), 4);
}

#[tokio::test]
async fn a_limit_scoped_to_actions_lets_other_requests_pass_uncounted() {
    let (_, _, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(
            Limit::requests("calls", Subject, rate(1, MINUTE))
                .with_actions([Action::ToolCall, Action::ModelCall]),
        )
    });
    let upstream = model();
    let by_alice = |action| Call::new(action, json!({})).with_caller(Caller::new("alice"));
    // Housekeeping (MCP `initialize`, `ping`) and listings pass as often as they come.
    for _ in 0..5 {
        assert!(
            send(&layer, &upstream, by_alice(Action::Protocol))
                .await
                .is_ok()
        );
        assert!(
            send(&layer, &upstream, by_alice(Action::ListTools))
                .await
                .is_ok()
        );
    }
    // Out of scope, a request without a key passes too: the limit does not apply to it.
    let anonymous = Call::new(Action::Protocol, json!({}));
    assert!(send(&layer, &upstream, anonymous).await.is_ok());
    // In scope: model and tool calls share the one allowance.
    assert!(send(&layer, &upstream, call("alice", 0, 0)).await.is_ok());
    let d = denied(send(&layer, &upstream, by_alice(Action::ToolCall)).await);
    assert!(
        matches!(d.kind(), DeniedKind::QuotaExceeded { .. }),
        "{d:?}"
    );
    assert_eq!(d.rule(), Some("calls"));
    assert_eq!(upstream.calls(), 12);
    let scoped = layer.limits()[0].actions();
    assert_eq!(scoped, Some(&[Action::ToolCall, Action::ModelCall][..]));
}

#[tokio::test]
async fn an_unscoped_limit_counts_housekeeping_too() {
    let (_, _, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::requests("all", Subject, rate(1, MINUTE))));
    let upstream = model();
    let ping = Call::new(Action::Protocol, json!({})).with_caller(Caller::new("alice"));
    assert!(send(&layer, &upstream, ping).await.is_ok());
    let d = denied(send(&layer, &upstream, call("alice", 0, 0)).await);
    assert!(
        matches!(d.kind(), DeniedKind::QuotaExceeded { .. }),
        "{d:?}"
    );
    assert_eq!(layer.limits()[0].actions(), None);
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn callers_of_other_authenticators_or_issuers_have_their_own_quota() {
    use agent_gateway_core::caller::AuthMethod;
    let (_, store, layer) =
        setup(|s| QuotaLayer::new(s).with_limit(Limit::requests("rpm", CallerId, rate(1, MINUTE))));
    let upstream = model();
    let demo = Caller::new("demo").with_tenant("local");
    let api_key = demo.clone().with_method(AuthMethod::ApiKey);
    let jwt = demo.with_method(AuthMethod::Jwt);
    let callers = [
        api_key,
        jwt.clone().with_issuer("https://a.example"),
        jwt.with_issuer("https://b.example"),
    ];
    let call = |caller: &Caller| Call::new(Action::ToolCall, json!({})).with_caller(caller.clone());
    for caller in &callers {
        assert!(send(&layer, &upstream, call(caller)).await.is_ok());
    }
    // Each has spent its own one call a minute.
    for caller in &callers {
        let d = denied(send(&layer, &upstream, call(caller)).await);
        assert!(matches!(d.kind(), DeniedKind::QuotaExceeded { .. }));
    }
    assert_eq!(upstream.calls(), 3);
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn ten_thousand_long_targets_keep_store_keys_bounded() {
    let (_, store, layer) = setup(|s| {
        QuotaLayer::new(s).with_limit(Limit::requests(
            "per-target",
            (CallerId, crate::key::Target),
            rate(1, MINUTE),
        ))
    });
    let upstream = model();
    for i in 0..10_000 {
        let target = format!("{i}{}", "x".repeat(8 * 1024));
        let call = Call::new(Action::ToolCall, json!({}))
            .with_target(target)
            .with_caller(Caller::new("alice"));
        assert!(send(&layer, &upstream, call).await.is_ok());
    }
    assert_eq!(store.len(), 10_000);
    // Every key is bounded, whatever the clients sent (8 KiB targets: 80 MB of strings).
    let key_bytes = store.key_bytes();
    assert!(key_bytes <= 10_000 * 256, "{key_bytes} bytes of keys");
}
