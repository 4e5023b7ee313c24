use std::num::NonZeroU32;
use std::time::Duration;

use agent_gateway_core::ManualClock;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::AgentResponse;
use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_core::upstream::error::CircuitOpen;
use serde_json::json;
use tower::ServiceExt;

use super::*;
use crate::error::UpstreamStatus;
use crate::provider::OpenAiProvider;
use crate::testkit::{FakeProvider, Script};

fn chat() -> LlmRequest {
    LlmRequest::decode(
        Api::ChatCompletions,
        json!({"model": "fast", "messages": []}),
    )
    .unwrap()
}

fn router(a: &FakeProvider, b: &FakeProvider, clock: &ManualClock) -> LlmRouter {
    LlmRouter::builder()
        .provider("a", OpenAiProvider::new(a.clone(), "http://a/v1").unwrap())
        .provider("b", OpenAiProvider::new(b.clone(), "http://b/v1").unwrap())
        .alias("fast", Deployment::new("a", "ma"))
        .alias("fast", Deployment::new("b", "mb"))
        .alias("only-a", Deployment::new("a", "ma"))
        .with_breaker(BreakerConfig::new(
            NonZeroU32::new(2).unwrap(),
            Duration::from_secs(30),
        ))
        .with_clock(clock.shared())
        .build()
        .unwrap()
}

fn content(res: &LlmResponse) -> String {
    res.output().unwrap()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn breaker_opens_after_repeated_failures_and_half_opens_later() {
    let clock = ManualClock::new();
    let a = FakeProvider::new().with_default(Script::error(500, "down"));
    let b = FakeProvider::new().with_default(Script::text("b"));
    let router = router(&a, &b, &clock);
    for _ in 0..2 {
        assert_eq!(content(&router.clone().oneshot(chat()).await.unwrap()), "b");
    }
    assert_eq!(a.calls(), 2);
    // Open: A is skipped without a call.
    assert_eq!(content(&router.clone().oneshot(chat()).await.unwrap()), "b");
    assert_eq!((a.calls(), b.calls()), (2, 3));
    // The alias served by A alone is refused while the breaker is open.
    let only_a = LlmRequest::decode(
        Api::ChatCompletions,
        json!({"model": "only-a", "messages": []}),
    )
    .unwrap();
    let err = router.clone().oneshot(only_a).await.unwrap_err();
    assert!(cause_ref::<CircuitOpen>(err.as_ref()).is_some(), "{err}");
    // After the cooldown one probe reaches A; A has recovered, so the breaker closes.
    clock.advance(Duration::from_secs(31));
    let a_ok = a.clone().with_default(Script::text("a"));
    assert_eq!(content(&router.clone().oneshot(chat()).await.unwrap()), "a");
    assert_eq!(content(&router.oneshot(chat()).await.unwrap()), "a");
    assert_eq!(a_ok.calls(), 4);
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_deployment_returns() {
    let clock = ManualClock::new();
    let a = FakeProvider::new()
        .push(Script::error(429, "slow").with_retry_after(10))
        .with_default(Script::text("a"));
    let b = FakeProvider::new().with_default(Script::text("b"));
    let router = router(&a, &b, &clock);
    assert_eq!(content(&router.clone().oneshot(chat()).await.unwrap()), "b");
    clock.advance(Duration::from_secs(9));
    assert_eq!(content(&router.clone().oneshot(chat()).await.unwrap()), "b");
    assert_eq!(a.calls(), 1, "A rests until its Retry-After has passed");
    // The only deployment of `only-a` rests: a 429 with the time left.
    let only_a = LlmRequest::decode(
        Api::ChatCompletions,
        json!({"model": "only-a", "messages": []}),
    )
    .unwrap();
    let err = router.clone().oneshot(only_a).await.unwrap_err();
    let status = cause_ref::<UpstreamStatus>(err.as_ref()).unwrap();
    assert_eq!(
        (status.status().as_u16(), status.retry_after()),
        (429, Some(Duration::from_secs(1)))
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(content(&router.oneshot(chat()).await.unwrap()), "a");
}

#[tokio::test]
async fn client_errors_do_not_fall_back_and_lists_show_aliases() {
    let clock = ManualClock::new();
    let a = FakeProvider::new().push(Script::error(400, "bad tool schema"));
    let b = FakeProvider::new();
    let router = router(&a, &b, &clock);
    let err = router.clone().oneshot(chat()).await.unwrap_err();
    assert_eq!(
        cause_ref::<UpstreamStatus>(err.as_ref())
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(b.calls(), 0);
    let list = router
        .clone()
        .oneshot(LlmRequest::list_models(crate::Dialect::OpenAi))
        .await
        .unwrap();
    assert_eq!(list.model_ids(), ["fast", "only-a"]);
    let err = LlmRouter::builder()
        .alias("x", Deployment::new("nope", "m"))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        RouterError::UnknownProvider {
            alias: "x".into(),
            provider: "nope".into()
        }
    );
}

/// Finding 12: `Retry-After: 1e19` (which overflowed `Duration`) and `1e12` (which rested a
/// deployment for millennia) cool a deployment for at most core's clamp, without a panic.
#[tokio::test]
async fn a_huge_retry_after_cools_for_at_most_the_clamp() {
    use agent_gateway_core::upstream::retry_after::MAX_RETRY_AFTER;
    for secs in [10_000_000_000_000_000_000_u64, 1_000_000_000_000] {
        let clock = ManualClock::new();
        let a = FakeProvider::new()
            .push(Script::error(429, "slow").with_retry_after(secs))
            .with_default(Script::text("a"));
        let b = FakeProvider::new();
        let router = router(&a, &b, &clock);
        let only_a = || {
            LlmRequest::decode(
                Api::ChatCompletions,
                json!({"model": "only-a", "messages": []}),
            )
            .unwrap()
        };
        let err = router.clone().oneshot(only_a()).await.unwrap_err();
        let status = cause_ref::<UpstreamStatus>(err.as_ref()).unwrap();
        assert_eq!(status.status().as_u16(), 429);
        assert_eq!(status.retry_after(), Some(MAX_RETRY_AFTER), "{secs}");
        // Resting: refused without a call, with at most the clamp left.
        let err = router.clone().oneshot(only_a()).await.unwrap_err();
        let status = cause_ref::<UpstreamStatus>(err.as_ref()).unwrap();
        assert!(status.retry_after().unwrap() <= MAX_RETRY_AFTER);
        assert_eq!(a.calls(), 1);
        // After the clamp the deployment serves again.
        clock.advance(MAX_RETRY_AFTER);
        assert_eq!(content(&router.oneshot(only_a()).await.unwrap()), "a");
        assert_eq!(a.calls(), 2);
    }
}
