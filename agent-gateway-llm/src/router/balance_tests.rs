use std::num::NonZeroU32;
use std::time::Duration;

use agent_gateway_core::ManualClock;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::{AgentResponse, Outcome};
use agent_gateway_core::upstream::breaker::BreakerConfig;
use http_body::Body;
use http_body_util::BodyExt;
use serde_json::json;
use tower::retry::budget::TpsBudget;
use tower::{ServiceExt, service_fn};

use super::*;
use crate::Dialect;
use crate::error::UpstreamStatus;
use crate::provider::{OpenAiProvider, ProviderRequest};
use crate::testkit::{FakeProvider, Script};

fn chat(stream: bool) -> LlmRequest {
    LlmRequest::decode(
        Api::ChatCompletions,
        json!({"model": "m", "messages": [], "stream": stream}),
    )
    .unwrap()
}

fn openai(fake: &FakeProvider) -> OpenAiProvider<FakeProvider> {
    OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap()
}

fn weight(w: u32) -> NonZeroU32 {
    NonZeroU32::new(w).unwrap()
}

#[tokio::test]
async fn a_tier_splits_by_weight_when_latencies_are_alike() {
    let clock = ManualClock::new();
    let fakes = [
        FakeProvider::new(),
        FakeProvider::new(),
        FakeProvider::new(),
    ];
    let router = LlmRouter::builder()
        .provider("a", openai(&fakes[0]))
        .provider("b", openai(&fakes[1]))
        .provider("heavy", openai(&fakes[2]))
        .tier(
            "m",
            [
                Deployment::new("a", "x"),
                Deployment::new("b", "x"),
                Deployment::new("heavy", "x").with_weight(weight(8)),
            ],
        )
        .with_clock(clock.shared())
        .with_seed(7)
        .build()
        .unwrap();
    for _ in 0..1000 {
        router.clone().oneshot(chat(false)).await.unwrap();
    }
    let calls = fakes.each_ref().map(FakeProvider::calls);
    assert_eq!(calls.iter().sum::<usize>(), 1000);
    // Equal cost per unit of weight favours the heavy one whenever it is drawn (97.8%).
    assert!(calls[2] > 950, "{calls:?}");
    assert!(
        calls[0] > 0 && calls[1] > 0,
        "the light ones still serve: {calls:?}"
    );
}

#[tokio::test]
async fn a_tier_prefers_the_faster_deployment() {
    let clock = ManualClock::new();
    let (slow, fast) = (FakeProvider::new(), FakeProvider::new());
    // Each answer takes this long on the router's clock.
    let timed = |fake: &FakeProvider, took: Duration| {
        let (clock, provider) = (clock.clone(), openai(fake));
        service_fn(move |req: ProviderRequest| {
            let (clock, provider) = (clock.clone(), provider.clone());
            async move {
                clock.advance(took);
                provider.oneshot(req).await
            }
        })
    };
    let router = LlmRouter::builder()
        .provider("slow", timed(&slow, Duration::from_secs(2)))
        .provider("fast", timed(&fast, Duration::from_millis(10)))
        .tier(
            "m",
            [Deployment::new("slow", "x"), Deployment::new("fast", "x")],
        )
        .with_clock(clock.shared())
        .with_seed(1)
        .build()
        .unwrap();
    for _ in 0..30 {
        router.clone().oneshot(chat(false)).await.unwrap();
    }
    // The slow one is tried at most once: its latency then outweighs the other's.
    assert!(slow.calls() <= 1, "{} slow calls", slow.calls());
    assert_eq!(slow.calls() + fast.calls(), 30);
}

fn failing_then_ok(budget: TpsBudget) -> (LlmRouter, FakeProvider, FakeProvider) {
    let a = FakeProvider::new().with_default(Script::error(500, "down"));
    let b = FakeProvider::new();
    let router = LlmRouter::builder()
        .provider("a", openai(&a))
        .provider("b", openai(&b))
        .alias("m", Deployment::new("a", "x"))
        .alias("m", Deployment::new("b", "x"))
        .with_breaker(BreakerConfig::new(weight(100), Duration::from_secs(30)))
        .with_retry_budget(budget)
        .build()
        .unwrap();
    (router, a, b)
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_bounds_fallbacks() {
    // One retry a second in reserve, nothing earned by traffic.
    let (router, a, b) = failing_then_ok(TpsBudget::new(Duration::from_secs(1), 1, 0.0));
    router.clone().oneshot(chat(false)).await.unwrap();
    assert_eq!((a.calls(), b.calls()), (1, 1));
    // The reserve is spent: the call fails with A's error, B is not tried.
    let err = router.clone().oneshot(chat(false)).await.unwrap_err();
    assert_eq!(
        cause_ref::<UpstreamStatus>(err.as_ref()).unwrap().status(),
        500
    );
    assert_eq!((a.calls(), b.calls()), (2, 1));
    // A second later the reserve is back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    router.clone().oneshot(chat(false)).await.unwrap();
    assert_eq!((a.calls(), b.calls()), (3, 2));

    // A budget of nothing: never a fallback.
    let (router, a, b) = failing_then_ok(TpsBudget::new(Duration::from_secs(1), 0, 0.0));
    for _ in 0..3 {
        assert!(router.clone().oneshot(chat(false)).await.is_err());
    }
    assert_eq!((a.calls(), b.calls()), (3, 0));
}

#[tokio::test]
async fn no_fallback_once_stream_bytes_reached_the_client() {
    let a = FakeProvider::new().push(Script::text("partial answer").with_body_error_after(2));
    let b = FakeProvider::new();
    let router = LlmRouter::builder()
        .provider("a", openai(&a))
        .provider("b", openai(&b))
        .alias("m", Deployment::new("a", "x"))
        .alias("m", Deployment::new("b", "x"))
        .build()
        .unwrap();
    let res = router.oneshot(chat(true)).await.unwrap();
    let report = res.usage_report().unwrap().clone();
    let mut body = res.into_http(Dialect::OpenAi).into_body();
    let mut seen = Vec::new();
    let mut failed = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => seen.extend_from_slice(frame.data_ref().unwrap()),
            Err(_) => failed = true,
        }
    }
    let seen = String::from_utf8(seen).unwrap();
    assert!(
        seen.starts_with("data: {"),
        "the first events reached the client: {seen}"
    );
    assert!(!failed, "the stream ends cleanly, with an error event");
    let error = "data: {\"error\":{\"code\":null,\"message\":\"upstream stream failed\",\"param\":null,\"type\":\"server_error\"}}\n\n";
    assert!(seen.ends_with(error), "the failure is visible: {seen}");
    assert!(!seen.contains("[DONE]"), "{seen}");
    assert_eq!(b.calls(), 0, "never replayed on B");
    assert_eq!(
        report.usage().unwrap().1,
        Outcome::Failed(agent_gateway_core::response::Failure::Upstream)
    );
    assert!(body.is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_cancels_the_upstream_call() {
    let a = FakeProvider::new()
        .push(Script::text("slow").with_delay(Duration::from_secs(10)))
        .push(Script::text("streamed"));
    let router = LlmRouter::builder()
        .provider("a", openai(&a))
        .alias("m", Deployment::new("a", "x"))
        .build()
        .unwrap();
    // Before the answer: dropping the call drops the upstream request.
    let mut call = Box::pin(router.clone().oneshot(chat(false)));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut call)
            .await
            .is_err()
    );
    assert_eq!(a.live(), 1, "the upstream request is pending");
    drop(call);
    assert_eq!(a.live(), 0, "dropped with the client's call");

    // Mid-stream: dropping the client's body drops the upstream body.
    let res = router.oneshot(chat(true)).await.unwrap();
    let report = res.usage_report().unwrap().clone();
    let mut body = res.into_http(Dialect::OpenAi).into_body();
    body.frame().await.unwrap().unwrap();
    assert_eq!(a.live(), 1);
    drop(body);
    assert_eq!(a.live(), 0);
    assert_eq!(report.usage().unwrap().1, Outcome::Aborted);
}

#[tokio::test(start_paused = true)]
async fn a_failed_deployment_falls_back_within_its_tier_then_to_the_next() {
    let down = || FakeProvider::new().with_default(Script::error(503, "down"));
    let (a, b, c) = (down(), down(), FakeProvider::new());
    let router = LlmRouter::builder()
        .provider("a", openai(&a))
        .provider("b", openai(&b))
        .provider("c", openai(&c))
        .tier("m", [Deployment::new("a", "x"), Deployment::new("b", "x")])
        .alias("m", Deployment::new("c", "x"))
        .with_breaker(BreakerConfig::new(weight(1), Duration::from_secs(30)))
        // Two retries in reserve, spent by the first call.
        .with_retry_budget(TpsBudget::new(Duration::from_secs(1), 2, 0.0))
        .build()
        .unwrap();
    // Both of the first tier are tried, once each, before the second tier serves.
    router.clone().oneshot(chat(false)).await.unwrap();
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 1));
    // Both breakers are open now: skipping them is no retry, so the spent budget does not
    // stop the second tier from serving.
    for _ in 0..3 {
        router.clone().oneshot(chat(false)).await.unwrap();
    }
    assert_eq!((a.calls(), b.calls(), c.calls()), (1, 1, 4));
    assert_eq!(
        LlmRouter::builder().tier("m", []).build().unwrap_err(),
        RouterError::EmptyTier("m".into())
    );
}
