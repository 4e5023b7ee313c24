//! Full stacks in-process: front → router → providers → the fake provider, no sockets.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agent_gateway_core::UsageReport;
use agent_gateway_core::response::Outcome;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmFront, Price};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

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
        .alias(
            "gpt",
            Deployment::new("oai", "gpt-up").with_price(Price::per_million(1.0, 2.0)),
        )
        .alias(
            "claude",
            Deployment::new("ant", "claude-up").with_price(Price::per_million(3.0, 15.0)),
        )
        .build()
        .unwrap();
    LlmFront::new(router).with_max_body(1024)
}

/// (path, content type, body, status, OpenAI or Anthropic error type, OpenAI param)
type Row = (
    &'static str,
    &'static str,
    String,
    u16,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn bad_input_gets_a_dialect_correct_error_and_no_upstream_call() {
    let fake = FakeProvider::new();
    let client = TestClient::new(gateway(&fake));
    let big = "x".repeat(2000);
    // (path, content type, body, status, OpenAI type or Anthropic type, param)
    let rows: [Row; 12] = [
        ("/v1/chat/completions", "application/json", "{\"model\":".into(), 400, "invalid_request_error", None),
        ("/v1/chat/completions", "application/json", json!({"messages": []}).to_string(), 400, "invalid_request_error", Some("model")),
        ("/v1/chat/completions", "application/json", json!({"model": "gpt"}).to_string(), 400, "invalid_request_error", Some("messages")),
        ("/v1/chat/completions", "application/json", json!({"model": "gpt-9", "messages": []}).to_string(), 404, "invalid_request_error", Some("model")),
        ("/v1/chat/completions", "application/json", json!({"model": "gpt", "messages": [{"role": "user", "content": big}]}).to_string(), 413, "invalid_request_error", None),
        ("/v1/chat/completions", "text/plain", json!({"model": "gpt", "messages": []}).to_string(), 415, "invalid_request_error", None),
        ("/v1/messages", "application/json", "{\"model\":".into(), 400, "invalid_request_error", None),
        ("/v1/messages", "application/json", json!({"max_tokens": 5, "messages": []}).to_string(), 400, "invalid_request_error", None),
        ("/v1/messages", "application/json", json!({"model": "claude", "max_tokens": 5}).to_string(), 400, "invalid_request_error", None),
        ("/v1/messages", "application/json", json!({"model": "claude-9", "max_tokens": 5, "messages": []}).to_string(), 404, "not_found_error", None),
        ("/v1/messages", "application/json", json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": big}]}).to_string(), 413, "request_too_large", None),
        ("/v1/messages", "application/x-www-form-urlencoded", "model=claude".into(), 415, "invalid_request_error", None),
    ];
    for (path, content_type, body, status, kind, param) in rows {
        let res = client
            .post(path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await;
        let label = format!("{path} {status}");
        assert_eq!(res.status().as_u16(), status, "{label}: {}", res.text());
        assert_eq!(res.header("content-type"), Some("application/json"));
        let v = res.json();
        if path == "/v1/messages" {
            assert_eq!(v["type"], "error", "{label}");
            assert_eq!(v["error"]["type"], kind, "{label}");
            assert!(v["error"]["message"].is_string());
        } else {
            assert_eq!(v["error"]["type"], kind, "{label}");
            assert_eq!(v["error"]["param"].as_str(), param, "{label}");
            assert!(v["error"]["message"].is_string() && v["error"].get("code").is_some());
        }
    }
    assert_eq!(fake.calls(), 0, "no bad request reached the provider");
    // The unknown alias has OpenAI's code.
    let res = client
        .post("/v1/chat/completions")
        .json(&json!({"model": "gpt-9", "messages": []}))
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn chat_and_messages_flow_end_to_end_with_cost() {
    let fake = FakeProvider::new()
        .push(Script::text("hi").with_usage(1000, 500))
        .push(Script::text("salut").with_usage(100, 10).with_cached(50));
    let client = TestClient::new(gateway(&fake));
    let res = client
        .post("/v1/chat/completions")
        .json(&json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}], "vendor_x": 1}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json()["choices"][0]["message"]["content"], "hi");
    let (usage, _) = res
        .extensions()
        .get::<UsageReport>()
        .unwrap()
        .usage()
        .unwrap();
    assert_eq!(usage.cost.unwrap().nano_usd(), 1000 * 1_000 + 500 * 2_000);
    assert_eq!(fake.requests()[0].body["vendor_x"], 1);

    let res = client
        .post("/v1/messages")
        .header("authorization", "Bearer sk-client")
        .json(&json!({"model": "claude", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}], "stream": true}))
        .send()
        .await;
    assert_eq!(res.header("content-type"), Some("text/event-stream"));
    assert!(res.text().starts_with("event: message_start\n"));
    // The streamed text is the provider's, whole, and the stream ends as Anthropic's does.
    let text: String = res
        .text()
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter(|event| event["type"] == "content_block_delta")
        .filter_map(|event| event["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "salut");
    assert!(
        res.text()
            .trim_end()
            .ends_with("data: {\"type\":\"message_stop\"}"),
        "{}",
        res.text()
    );
    let (usage, outcome) = res
        .extensions()
        .get::<UsageReport>()
        .unwrap()
        .usage()
        .unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens
        ),
        (150, 50, 10)
    );
    // Cache reads are priced as input until the deployment says otherwise.
    assert_eq!(
        (usage.cost.unwrap().nano_usd(), outcome),
        (150 * 3_000 + 10 * 15_000, Outcome::Complete)
    );
    assert!(fake.requests()[1].headers.get("authorization").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_goes_away_mid_stream_reports_aborted_usage() {
    let fake = FakeProvider::new().push(
        Script::text("a long answer")
            .with_usage(7, 3)
            .with_delay(Duration::from_secs(30)),
    );
    let front = gateway(&fake);
    let (svc, req) = TestClient::new(front)
        .post("/v1/chat/completions")
        .json(&json!({"model": "gpt", "messages": [], "stream": true}))
        .into_parts();
    // The scripted delay passes on the paused clock, not in real time.
    let res = svc.oneshot(req).await.unwrap();
    let report = res.extensions().get::<UsageReport>().unwrap().clone();
    let mut body = res.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: {"));
    let mut seen = String::from_utf8_lossy(&first).into_owned();
    while !seen.contains("answer") {
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        seen.push_str(&String::from_utf8_lossy(&frame));
    }
    assert!(!seen.contains("\"usage\":{"), "{seen}");
    assert!(report.usage().is_none());
    drop(body);
    // Finding 5: cut before its usage chunk, the stream is still charged, at a floor: the
    // request's input estimate and the output relayed so far ("a long answer": 13 bytes, at
    // least 4 tokens), priced at the deployment's price.
    let (usage, outcome) = report.usage().unwrap();
    let body = json!({"model": "gpt", "messages": [], "stream": true}).to_string();
    let estimate = agent_gateway_llm::LlmRequest::from_slice(
        agent_gateway_llm::Api::ChatCompletions,
        body.as_bytes(),
    )
    .unwrap();
    let estimate = agent_gateway_core::AgentRequest::estimated_input_tokens(&estimate).unwrap();
    assert_eq!(outcome, Outcome::Aborted);
    assert_eq!(usage.input_tokens, estimate);
    assert!(usage.output_tokens >= 4, "{usage:?}");
    assert_eq!(
        usage.cost.unwrap().nano_usd(),
        usage.input_tokens * 1_000 + usage.output_tokens * 2_000
    );
}

#[tokio::test]
async fn models_list_in_both_dialects() {
    let client = TestClient::new(gateway(&FakeProvider::new()));
    let oai: Value = client.get("/v1/models").send().await.json();
    assert_eq!(
        oai["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["claude", "gpt"]
    );
    let ant = client
        .get("/v1/models")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .json();
    assert_eq!(
        (ant["first_id"].as_str(), ant["last_id"].as_str()),
        (Some("claude"), Some("gpt"))
    );
}
