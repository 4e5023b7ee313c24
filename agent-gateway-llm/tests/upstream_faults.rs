//! Misbehaving providers, through the whole in-process stack (front → router → providers →
//! fake provider): a silent provider and a stream that stalls get the dialect's timeout error
//! within the configured time, and failover treats a timeout as retryable (finding 7); a
//! provider's error text never reaches the client (finding 22).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider, Timeouts};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmFront, Price};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use tower::ServiceExt;

const RESPONSE: Duration = Duration::from_secs(2);
const IDLE: Duration = Duration::from_secs(3);
/// Slack on the paused clock: timers fire at their deadline, not before.
const SLACK: Duration = Duration::from_millis(10);

/// `silent` serves alias `solo` alone and `pair` first, `backup` serves `pair` second.
fn gateway(silent: &FakeProvider, backup: &FakeProvider) -> LlmFront<LlmRouter> {
    let timeouts = Timeouts::new(RESPONSE, IDLE);
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(silent.clone(), "http://oai.test/v1").unwrap(),
        )
        .provider(
            "ant",
            AnthropicProvider::new(silent.clone(), "http://ant.test").unwrap(),
        )
        .provider(
            "backup",
            OpenAiProvider::new(backup.clone(), "http://backup.test/v1").unwrap(),
        )
        .alias("solo", Deployment::new("oai", "up").with_timeouts(timeouts))
        .alias(
            "claude",
            Deployment::new("ant", "up").with_timeouts(timeouts),
        )
        .alias(
            "pair",
            Deployment::new("oai", "up")
                .with_timeouts(timeouts)
                .with_price(Price::FREE),
        )
        .alias("pair", Deployment::new("backup", "up-2"))
        .build()
        .unwrap();
    LlmFront::new(router)
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(start_paused = true)]
async fn a_silent_provider_gets_the_dialect_timeout_error_in_time() {
    let silent = FakeProvider::new()
        .with_default(Script::text("late").with_delay(Duration::from_secs(3600)));
    let client = TestClient::new(gateway(&silent, &FakeProvider::new()));
    // OpenAI dialect.
    let start = Instant::now();
    let res = client
        .post("/v1/chat/completions")
        .json(&chat("solo", false))
        .send()
        .await;
    let waited = start.elapsed();
    assert_eq!(res.status(), 504, "{}", res.text());
    assert!(
        waited >= RESPONSE && waited <= RESPONSE + SLACK,
        "{waited:?}"
    );
    let body = res.json();
    assert_eq!(
        (
            body["error"]["type"].as_str(),
            body["error"]["code"].as_str()
        ),
        (Some("server_error"), Some("timeout"))
    );
    // Anthropic dialect, a stream this time: the headers never come.
    let start = Instant::now();
    let res = client
        .post("/v1/messages")
        .json(&json!({"model": "claude", "max_tokens": 8, "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await;
    assert!(start.elapsed() <= RESPONSE + SLACK);
    assert_eq!(res.status(), 504, "{}", res.text());
    let body = res.json();
    assert_eq!(
        (body["type"].as_str(), body["error"]["type"].as_str()),
        (Some("error"), Some("timeout_error"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_deployment_fails_over_to_the_next() {
    let silent = FakeProvider::new()
        .with_default(Script::text("late").with_delay(Duration::from_secs(3600)));
    let backup = FakeProvider::new().with_default(Script::text("from the backup"));
    let client = TestClient::new(gateway(&silent, &backup));
    let start = Instant::now();
    let res = client
        .post("/v1/chat/completions")
        .json(&chat("pair", false))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json()["choices"][0]["message"]["content"],
        "from the backup"
    );
    assert!(start.elapsed() <= RESPONSE + SLACK);
    assert_eq!((silent.calls(), backup.calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_stalls_ends_with_the_dialect_error_event_in_time() {
    // Role chunk and the first half of the text, then silence with the connection open.
    let stalling =
        FakeProvider::new().with_default(Script::text("a long answer").with_stall_after(2));
    let front = gateway(&stalling, &FakeProvider::new());
    let (svc, req) = TestClient::new(front)
        .post("/v1/chat/completions")
        .json(&chat("solo", true))
        .into_parts();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let start = Instant::now();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let waited = start.elapsed();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(waited >= IDLE && waited <= IDLE + SLACK, "{waited:?}");
    assert!(text.contains("\"content\":\"a long\""), "{text}");
    assert!(
        text.ends_with("data: {\"error\":{\"code\":null,\"message\":\"upstream stream timed out\",\"param\":null,\"type\":\"server_error\"}}\n\n"),
        "{text}"
    );
    assert!(!text.contains("[DONE]"));
}

/// Finding 22: what a provider says in its errors (organisation ids, limits, the real model
/// behind an alias) stays in the gateway's log; the client gets the status, the type and a
/// generic message, in its dialect.
#[tokio::test]
async fn provider_error_texts_do_not_reach_the_client() {
    let secret_429 = "Rate limit reached for gpt-4o-secret in organization org-SECRETORG123 on tokens per min (TPM): Limit 30000";
    let secret_404 =
        "The model `gpt-4o-secret-internal` does not exist or you do not have access to it.";
    let secret_400 = "Invalid schema for org-SECRETORG123: tool parameters";
    let cases = [
        (
            Script::error(429, secret_429).with_retry_after(7),
            429,
            "rate_limit_error",
            "rate_limit_error",
        ),
        (
            Script::error(404, secret_404),
            404,
            "invalid_request_error",
            "not_found_error",
        ),
        (
            Script::error(400, secret_400),
            400,
            "invalid_request_error",
            "invalid_request_error",
        ),
    ];
    for (script, status, openai, anthropic) in cases {
        let fake = FakeProvider::new().with_default(script);
        let client = TestClient::new(gateway(&fake, &FakeProvider::new()));
        let res = client
            .post("/v1/chat/completions")
            .json(&chat("solo", false))
            .send()
            .await;
        assert_eq!(res.status(), status);
        let text = res.text();
        assert!(
            !text.contains("SECRET") && !text.contains("secret"),
            "{text}"
        );
        assert_eq!(res.json()["error"]["type"], openai, "{text}");
        if status == 429 {
            assert_eq!(res.header("retry-after"), Some("7"));
        }
        let res = client
            .post("/v1/messages")
            .json(&json!({"model": "claude", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await;
        assert_eq!(res.status(), status);
        let text = res.text();
        assert!(
            !text.contains("SECRET") && !text.contains("secret"),
            "{text}"
        );
        assert_eq!(res.json()["error"]["type"], anthropic, "{text}");
    }
}
