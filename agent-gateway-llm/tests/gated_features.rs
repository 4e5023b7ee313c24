//! Price- and tool-changing request features pass only where the deployment allows them
//! (finding 23): otherwise the request is refused with 400 naming the parameter, in the
//! client's dialect, before any provider is called.

#![allow(clippy::unwrap_used)]

use agent_gateway_core::testkit::TestClient;
use agent_gateway_llm::LlmFront;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::request::Feature;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::FakeProvider;
use serde_json::{Value, json};

fn gateway(fake: &FakeProvider) -> LlmFront<LlmRouter> {
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .provider(
            "ant",
            AnthropicProvider::new(fake.clone(), "http://ant.test").unwrap(),
        )
        .alias("plain", Deployment::new("oai", "up"))
        .alias("claude", Deployment::new("ant", "up"))
        .alias(
            "open",
            Deployment::new("oai", "up").with_features(Feature::ALL),
        )
        .alias(
            "claude-beta",
            Deployment::new("ant", "up").with_features([Feature::AnthropicBeta]),
        )
        .build()
        .unwrap();
    LlmFront::new(router)
}

fn chat(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn gated_fields_are_refused_unless_the_deployment_allows_them() {
    let fake = FakeProvider::new();
    let client = TestClient::new(gateway(&fake));
    let refused = [
        (
            "/v1/chat/completions",
            chat("plain", json!({"service_tier": "priority"})),
            "service_tier",
        ),
        (
            "/v1/chat/completions",
            chat("plain", json!({"web_search_options": {}})),
            "tools",
        ),
        (
            "/v1/responses",
            json!({"model": "plain", "input": "hi", "background": true}),
            "background",
        ),
        (
            "/v1/responses",
            json!({"model": "plain", "input": "hi", "tools": [{"type": "web_search_preview"}]}),
            "tools",
        ),
    ];
    for (path, body, param) in refused {
        let res = client.post(path).json(&body).send().await;
        assert_eq!(res.status(), 400, "{body}: {}", res.text());
        let err = res.json();
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"], param, "{err}");
    }
    // Anthropic: a beta header, and a server tool, in its own dialect.
    let messages = |model: &str, extra: Value| {
        let mut body = json!({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let res = client
        .post("/v1/messages")
        .header("anthropic-beta", "context-1m-2025-08-07")
        .json(&messages("claude", json!({})))
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    assert_eq!(res.json()["error"]["type"], "invalid_request_error");
    assert!(res.text().contains("anthropic-beta"), "{}", res.text());
    let tool = json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}]});
    let res = client
        .post("/v1/messages")
        .json(&messages("claude-beta", tool))
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    assert_eq!(fake.calls(), 0, "no provider was called");

    // Allowed where configured: the field and the header reach the provider.
    let res = client
        .post("/v1/chat/completions")
        .json(&chat("open", json!({"service_tier": "priority"})))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let res = client
        .post("/v1/messages")
        .header("anthropic-beta", "context-1m-2025-08-07")
        .json(&messages("claude-beta", json!({})))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let seen = fake.requests();
    assert_eq!(seen[0].body["service_tier"], "priority");
    assert_eq!(seen[1].headers["anthropic-beta"], "context-1m-2025-08-07");
    // The harmless values pass everywhere.
    let res = client
        .post("/v1/chat/completions")
        .json(&chat("plain", json!({"service_tier": "auto"})))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
}
