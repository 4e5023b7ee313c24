//! Budgets that cannot be dodged, through the whole in-process stack (LLM front → auth →
//! budget → router → fake provider): a client that drops every stream before its usage chunk
//! still exhausts its budget (finding 5), and concurrent calls cannot overspend one (finding 13).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::store::MemoryStore;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentRequest, BoxError, Cost, Secret};
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmBody, LlmFront, LlmRequest, LlmResponse, Price};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::budget::{BudgetLayer, Level, Scope};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

const KEY: &str = "sk-carol-000000000000";

type Front = LlmFront<BoxCloneSyncService<LlmRequest, LlmResponse, BoxError>>;

/// The front, auth, a per-key budget of `limit` reserving the router's estimate, the router.
fn stack(fake: &FakeProvider, price: Price, limit: Cost) -> (Front, BudgetLayer) {
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias("gpt", Deployment::new("oai", "gpt-up").with_price(price))
        .build()
        .unwrap();
    let estimator = router.cost_estimator();
    let keys = ApiKeys::new().with_key(Secret::new(KEY.into()), Principal::new("carol"));
    let budget = BudgetLayer::new(Arc::new(MemoryStore::new()))
        .with_limit(Level::Key, limit)
        .with_estimate(move |req: &dyn AgentRequest| estimator.estimate(req));
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .layer(budget.clone())
        .service(router);
    (LlmFront::new(BoxCloneSyncService::new(svc)), budget)
}

fn request(client: &TestClient<Front>, stream: bool) -> (Front, http::Request<Full<Bytes>>) {
    client
        .post("/v1/chat/completions")
        .header("authorization", &format!("Bearer {KEY}"))
        .json(&json!({
            "model": "gpt", "stream": stream, "max_tokens": 16,
            "messages": [{"role": "user", "content": "tell me a long story"}]
        }))
        .into_parts()
}

/// Lets the settlements the budget spawned run.
async fn settled() {
    for _ in 0..32 {
        tokio::task::yield_now().await;
    }
}

/// Reads a stream until its first content delta, then drops it: before the usage chunk.
async fn read_then_drop(body: LlmBody) {
    let mut body = body;
    let mut seen = String::new();
    while !seen.contains("\"content\":\"once") {
        let frame = body.frame().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(frame.data_ref().unwrap()));
    }
    assert!(!seen.contains("\"usage\":{"), "{seen}");
}

/// Finding 5: every stream is dropped before the provider reports its (huge) usage. Each is
/// still charged its input estimate and the output relayed, so a $1 budget at 1 cent a token
/// is refused after a bounded number of streams.
#[tokio::test]
async fn a_key_that_aborts_every_stream_still_exhausts_its_budget() {
    let fake = FakeProvider::new().with_default(
        Script::text("once upon a time there was a gateway").with_usage(1_000_000, 1_000_000),
    );
    let cent_a_token = Price::per_million(10_000.0, 10_000.0);
    let dollar = Cost::from_nano_usd(1_000_000_000);
    let (front, budget) = stack(&fake, cent_a_token, dollar);
    let client = TestClient::new(front);
    let (_, probe) = request(&client, true);
    let input = LlmRequest::from_slice(
        agent_gateway_llm::Api::ChatCompletions,
        &probe.into_body().collect().await.unwrap().to_bytes(),
    )
    .unwrap()
    .estimated_input_tokens()
    .unwrap();
    // Each stream costs at least its input estimate and one token of output.
    let bound = 100 / (input + 1) + 1;

    let mut served = 0;
    let refused = loop {
        let (svc, req) = request(&client, true);
        let res = svc.oneshot(req).await.unwrap();
        if res.status() != 200 {
            break res;
        }
        served += 1;
        assert!(
            served <= bound,
            "{served} aborted streams served, bound {bound}"
        );
        read_then_drop(res.into_body()).await;
        settled().await;
    };
    assert_eq!(refused.status(), 429);
    let body = refused.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "insufficient_quota", "{body}");
    assert!(served >= 1);
    assert_eq!(fake.calls(), served as usize);
    let spend = budget.spend(&Scope::key(carol_id())).await.unwrap();
    // Charged the floor of each stream, far below the usage the provider would have reported.
    assert!(spend.spent.nano_usd() >= served * (input + 1) * 10_000_000);
    assert!(spend.spent < Cost::from_nano_usd(2 * dollar.nano_usd()));
}

/// Finding 13: 64 concurrent calls against a budget one call short of them. Each call's
/// reservation (its input estimate and `max_tokens` of output) bounds its cost, so the stated
/// worst-case overspend is zero: 63 are served and the spend ends exactly at the limit.
#[tokio::test(start_paused = true)]
async fn concurrent_calls_against_a_budget_one_call_short_do_not_overspend() {
    // Each call reports 16 output tokens (its max_tokens) at $1 a token; input is free.
    let fake = FakeProvider::new().with_default(
        Script::text("ok")
            .with_usage(5, 16)
            .with_delay(Duration::from_secs(1)),
    );
    let dollar_a_token = Price::per_million(0.0, 1_000_000.0);
    let per_call = Cost::from_nano_usd(16 * 1_000_000_000);
    let limit = Cost::from_nano_usd(63 * per_call.nano_usd());
    let (front, budget) = stack(&fake, dollar_a_token, limit);
    let client = TestClient::new(front);
    // Local tasks: the stack's futures need not be `Send` for this.
    let local = tokio::task::LocalSet::new();
    let statuses = local
        .run_until(async {
            let mut calls = tokio::task::JoinSet::new();
            for _ in 0..64 {
                let (svc, req) = request(&client, false);
                calls.spawn_local(async move { svc.oneshot(req).await.unwrap().status().as_u16() });
            }
            let mut statuses = Vec::new();
            while let Some(status) = calls.join_next().await {
                statuses.push(status.unwrap());
            }
            settled().await;
            statuses
        })
        .await;
    let served = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((served, refused), (63, 1), "{statuses:?}");
    assert_eq!(fake.calls(), 63);
    let spend = budget.spend(&Scope::key(carol_id())).await.unwrap();
    assert_eq!(
        spend.spent, limit,
        "overspend beyond the stated bound (zero)"
    );
}

/// Finding 5, for a token quota: the settlement of an aborted stream never goes below the
/// tokens already relayed (it used to refund the whole estimate), so a key that drops every
/// stream still runs out of tokens after a bounded number of streams.
#[tokio::test]
async fn a_token_quota_is_not_refunded_by_aborting_streams() {
    use std::num::NonZeroU64;

    use agent_gateway_core::store::Rate;
    use agent_gateway_policy::key::Subject;
    use agent_gateway_policy::quota::{Limit, QuotaLayer};

    let fake = FakeProvider::new().with_default(
        Script::text("once upon a time there was a gateway").with_usage(1_000_000, 1_000_000),
    );
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias("gpt", Deployment::new("oai", "gpt-up"))
        .build()
        .unwrap();
    let keys = ApiKeys::new().with_key(Secret::new(KEY.into()), Principal::new("carol"));
    let tokens_an_hour = 200;
    let rate = Rate::new(
        NonZeroU64::new(tokens_an_hour).unwrap(),
        Duration::from_secs(3600),
    );
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .layer(
            QuotaLayer::new(Arc::new(MemoryStore::new()))
                .with_limit(Limit::tokens("tokens", Subject, rate)),
        )
        .service(router);
    let client = TestClient::new(LlmFront::new(BoxCloneSyncService::new(svc)));
    // Each aborted stream is charged at least its input estimate plus one token.
    let (_, probe) = request(&client, true);
    let input = LlmRequest::from_slice(
        agent_gateway_llm::Api::ChatCompletions,
        &probe.into_body().collect().await.unwrap().to_bytes(),
    )
    .unwrap()
    .estimated_input_tokens()
    .unwrap();
    let bound = tokens_an_hour / (input + 1) + 1;
    let mut served = 0;
    let refused = loop {
        let (svc, req) = request(&client, true);
        let res = svc.oneshot(req).await.unwrap();
        if res.status() != 200 {
            break res;
        }
        served += 1;
        assert!(
            served <= bound,
            "{served} aborted streams served, bound {bound}"
        );
        read_then_drop(res.into_body()).await;
        settled().await;
    };
    assert_eq!(refused.status(), 429);
    assert!(served >= 1);
}

/// The budget key of the API key's caller: authenticator, issuer, tenant and subject.
fn carol_id() -> String {
    agent_gateway_core::Caller::new("carol")
        .with_method(agent_gateway_core::caller::AuthMethod::ApiKey)
        .principal_id()
        .to_owned()
}
