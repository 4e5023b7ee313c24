//! The policy layers in front of the LLM front: an allowed call, and every denial kind rendered
//! in the client's own dialect with the right status, with no upstream call.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::store::{CounterStore, MemoryStore, Rate, StoreError, Take, WindowOutcome};
use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_core::{Cost, Secret};
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmFront, LlmRequest, Price};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use agent_gateway_policy::budget::{BudgetLayer, Level, Scope};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Limit, QuotaLayer};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const ALICE: &str = "sk-alice-0000000000"; // team billing: may use gpt-fast
const BOB: &str = "sk-bob-00000000000000"; // team research: may not

fn router(fake: &FakeProvider) -> LlmRouter {
    LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias(
            "gpt-fast",
            Deployment::new("oai", "gpt-up").with_price(Price::per_million(1_000_000.0, 0.0)),
        )
        .alias("gpt-slow", Deployment::new("oai", "gpt-up-2"))
        .build()
        .unwrap()
}

fn stack(
    fake: &FakeProvider,
    store: Arc<dyn CounterStore>,
    requests_per_hour: u64,
    budget_usd: u64,
) -> (
    LlmFront<
        BoxCloneSyncService<
            LlmRequest,
            agent_gateway_llm::LlmResponse,
            agent_gateway_core::BoxError,
        >,
    >,
    BudgetLayer,
) {
    let keys = ApiKeys::new()
        .with_key(
            Secret::new(ALICE.into()),
            Principal::new("alice").with_team("billing"),
        )
        .with_key(
            Secret::new(BOB.into()),
            Principal::new("bob").with_team("research"),
        );
    let rules = Rules::new()
        .allow("list-models", r#"action == "list_models""#)
        .allow(
            "billing-fast",
            r#"target == "gpt-fast" && caller.team == "billing""#,
        )
        .allow("anyone-slow", r#"target == "gpt-slow""#)
        .compile()
        .unwrap();
    let rate = Rate::new(
        NonZeroU64::new(requests_per_hour).unwrap(),
        Duration::from_secs(3600),
    );
    let budget = BudgetLayer::new(store.clone())
        .with_key(Subject)
        .with_limit(Level::Key, Cost::from_nano_usd(budget_usd * 1_000_000_000));
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .layer(AuthorizeLayer::new(rules))
        .layer(QuotaLayer::new(store.clone()).with_limit(Limit::requests("hourly", Subject, rate)))
        .layer(budget.clone())
        .service(router(fake));
    (LlmFront::new(BoxCloneSyncService::new(svc)), budget)
}

async fn chat<S>(client: &TestClient<S>, key: Option<&str>, model: &str) -> TestResponse
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<agent_gateway_llm::LlmBody>,
        > + Clone,
    S::Error: Into<agent_gateway_core::BoxError>,
{
    let mut req = client
        .post("/v1/chat/completions")
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(key) = key {
        req = req.header("authorization", &format!("Bearer {key}"));
    }
    req.send().await
}

async fn messages<S>(client: &TestClient<S>, key: Option<&str>, model: &str) -> TestResponse
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<agent_gateway_llm::LlmBody>,
        > + Clone,
    S::Error: Into<agent_gateway_core::BoxError>,
{
    let mut req = client.post("/v1/messages").json(&json!({
        "model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]
    }));
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    req.send().await
}

/// OpenAI's error `type` and `code`, as OpenAI itself sends them (a bad key is an
/// `invalid_request_error` with code `invalid_api_key`).
fn openai_type(res: &TestResponse) -> String {
    let v: Value = res.json();
    let kind = v["error"]["type"].as_str().unwrap_or_default();
    match v["error"]["code"].as_str() {
        Some(code) => format!("{kind}/{code}"),
        None => kind.to_owned(),
    }
}

fn anthropic_type(res: &TestResponse) -> String {
    let v: Value = res.json();
    assert_eq!(v["type"], "error", "{v}");
    v["error"]["type"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn allowed_and_each_denial_in_both_dialects_without_an_upstream_call() {
    let fake = FakeProvider::new().with_default(Script::text("ok").with_usage(1, 1));
    let (front, budget) = stack(&fake, Arc::new(MemoryStore::new()), 3, 1);
    let client = TestClient::new(front);

    // Allowed.
    let res = chat(&client, Some(ALICE), "gpt-fast").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(fake.calls(), 1);

    // Unauthenticated: 401 in both dialects.
    let res = chat(&client, None, "gpt-fast").await;
    assert_eq!(
        (res.status().as_u16(), openai_type(&res).as_str()),
        (401, "invalid_request_error/invalid_api_key")
    );
    let res = messages(&client, Some("sk-wrong"), "gpt-fast").await;
    assert_eq!(
        (res.status().as_u16(), anthropic_type(&res).as_str()),
        (401, "authentication_error")
    );

    // Forbidden by a CEL rule: bob's team may not use gpt-fast.
    let res = chat(&client, Some(BOB), "gpt-fast").await;
    assert_eq!(
        (res.status().as_u16(), openai_type(&res).as_str()),
        (403, "invalid_request_error/permission_denied")
    );
    let res = messages(&client, Some(BOB), "gpt-fast").await;
    assert_eq!(
        (res.status().as_u16(), anthropic_type(&res).as_str()),
        (403, "permission_error")
    );
    assert_eq!(fake.calls(), 1, "no upstream call on denial");

    // Budget exhausted: alice's one call cost $1 (1 input token at $1M per million). The
    // charge is made off the request path when the response ends; wait for it to land.
    let alice = Scope::key("alice");
    for _ in 0..100 {
        if budget.spend(&alice).await.unwrap().spent == Cost::from_nano_usd(1_000_000_000) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        budget.spend(&alice).await.unwrap().spent,
        Cost::from_nano_usd(1_000_000_000)
    );
    let res = chat(&client, Some(ALICE), "gpt-fast").await;
    assert_eq!(res.status(), 429, "{}", res.text());
    assert_eq!(openai_type(&res), "insufficient_quota/insufficient_quota");
    assert_eq!(res.header("x-should-retry"), Some("false"));
    let res = messages(&client, Some(ALICE), "gpt-fast").await;
    assert_eq!(res.status(), 402, "{}", res.text());
    assert_eq!(anthropic_type(&res), "billing_error");
    assert_eq!(fake.calls(), 1, "no upstream call on denial");

    // Quota: 3 calls an hour. The quota sits inside authorization, so bob's two refused calls
    // above cost him nothing: three go through, then 429 with Retry-After. (Alice's two
    // budget refusals did count: the budget sits inside the quota.)
    for _ in 0..3 {
        assert_eq!(chat(&client, Some(BOB), "gpt-slow").await.status(), 200);
    }
    assert_eq!(fake.calls(), 4);
    let res = chat(&client, Some(BOB), "gpt-slow").await;
    assert_eq!(
        (res.status().as_u16(), openai_type(&res).as_str()),
        (429, "rate_limit_error/rate_limit_exceeded")
    );
    let after: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=1800).contains(&after), "retry-after {after}");
    let res = messages(&client, Some(BOB), "gpt-slow").await;
    assert_eq!(
        (res.status().as_u16(), anthropic_type(&res).as_str()),
        (429, "rate_limit_error")
    );
    assert!(res.header("retry-after").is_some());
    assert_eq!(fake.calls(), 4, "no upstream call on denial");
}

/// A store that is down.
#[derive(Debug)]
struct DownStore;

#[async_trait::async_trait]
impl CounterStore for DownStore {
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
        Err(StoreError::Timeout)
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
async fn a_store_outage_fails_closed_with_503_in_both_dialects() {
    let fake = FakeProvider::new();
    let client = TestClient::new(stack(&fake, Arc::new(DownStore), 10, 10).0);
    let res = chat(&client, Some(ALICE), "gpt-fast").await;
    assert_eq!(res.status(), 503, "{}", res.text());
    // Each client gets its own dialect's error body.
    assert_eq!(
        res.json()["error"]["type"],
        "server_error",
        "{}",
        res.text()
    );
    let res = messages(&client, Some(ALICE), "gpt-fast").await;
    assert_eq!(res.status(), 503, "{}", res.text());
    assert_eq!(
        (
            res.json()["type"].as_str(),
            res.json()["error"]["type"].as_str()
        ),
        (Some("error"), Some("api_error")),
        "{}",
        res.text()
    );
    assert_eq!(fake.calls(), 0);
}

#[tokio::test]
async fn model_lists_are_filtered_per_caller_by_the_same_rules() {
    let fake = FakeProvider::new();
    let client = TestClient::new(stack(&fake, Arc::new(MemoryStore::new()), 10, 10).0);
    let ids = |key: &'static str| {
        let client = client.clone();
        async move {
            let res = client
                .get("/v1/models")
                .header("authorization", &format!("Bearer {key}"))
                .send()
                .await;
            assert_eq!(res.status(), 200, "{}", res.text());
            let mut ids: Vec<String> = res.json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(ids(ALICE).await, ["gpt-fast", "gpt-slow"]);
    assert_eq!(ids(BOB).await, ["gpt-slow"]);
    assert_eq!(fake.calls(), 0);
}
