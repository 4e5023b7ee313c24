use agent_gateway_core::response::{AgentResponse, Outcome};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::tests::body_text;
use super::*;
use crate::Api;
use crate::testkit::{FakeProvider, Script};

fn responses(extra: Value) -> LlmRequest {
    let mut body = json!({"model": "alias", "input": "hi", "instructions": "Be brief."});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    LlmRequest::decode(Api::Responses, body).unwrap()
}

/// The `data` of every event of an SSE text, parsed.
fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn responses_go_native_unless_the_server_has_no_responses_api() {
    let fake = FakeProvider::new().with_default(Script::text("hello").with_usage(8, 2));
    let native = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    native
        .oneshot(ProviderRequest::new(responses(json!({})), "m"))
        .await
        .unwrap();
    assert_eq!(fake.requests()[0].path, "/v1/responses");

    let chat_only = OpenAiProvider::new(fake.clone(), "http://up/v1")
        .unwrap()
        .with_responses_api(false);
    let res = chat_only
        .clone()
        .oneshot(ProviderRequest::new(
            responses(json!({"max_output_tokens": 9})),
            "m",
        ))
        .await
        .unwrap();
    let seen = &fake.requests()[1];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(
        (
            seen.body["max_tokens"].as_u64(),
            seen.body["model"].as_str()
        ),
        (Some(9), Some("m"))
    );
    let out = res.output().unwrap();
    assert_eq!(
        (out["object"].as_str(), out["status"].as_str()),
        (Some("response"), Some("completed"))
    );
    assert_eq!(out["output"][0]["content"][0]["text"], "hello");
    assert_eq!(out["usage"]["total_tokens"], 10);
    let (usage, _) = res.usage_report().unwrap().usage().unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (8, 2));

    // Streamed: chat upstream with usage asked for, Responses events to the client.
    let res = chat_only
        .clone()
        .oneshot(ProviderRequest::new(
            responses(json!({"stream": true})),
            "m",
        ))
        .await
        .unwrap();
    let seen = &fake.requests()[2];
    assert_eq!(
        (
            seen.body["stream"].as_bool(),
            seen.body["stream_options"]["include_usage"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let report = res.usage_report().unwrap().clone();
    let text = body_text(res).await;
    assert!(text.starts_with("event: response.created\n"), "{text}");
    let events = events(&text);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "hello");
    assert_eq!(last["response"]["usage"]["input_tokens"], 8);
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, outcome),
        (8, 2, Outcome::Complete)
    );

    // What chat cannot serve is refused before any call.
    let calls = fake.calls();
    let err = chat_only
        .oneshot(ProviderRequest::new(
            responses(json!({"previous_response_id": "resp_1"})),
            "m",
        ))
        .await
        .unwrap_err();
    assert!(
        err.downcast_ref::<crate::error::InvalidRequest>().is_some(),
        "{err}"
    );
    assert_eq!(fake.calls(), calls);
}

#[tokio::test]
async fn anthropic_serves_responses_through_chat() {
    let fake = FakeProvider::new()
        .push(
            Script::tool_call("tu_1", "f", json!({"q": 1}))
                .with_usage(12, 3)
                .with_cached(2),
        )
        .push(Script::text("salut").with_usage(12, 3).with_cached(2));
    let provider = AnthropicProvider::new(fake.clone(), "http://up").unwrap();
    let res = provider
        .clone()
        .oneshot(ProviderRequest::new(responses(json!({})), "claude-x"))
        .await
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(
        (seen.path.as_str(), seen.body["system"].as_str()),
        ("/v1/messages", Some("Be brief."))
    );
    let out = res.output().unwrap();
    assert_eq!(out["output"][0]["type"], "function_call");
    assert_eq!(out["output"][0]["arguments"], "{\"q\":1}");
    assert_eq!(out["usage"]["input_tokens"], 14);

    let res = provider
        .oneshot(ProviderRequest::new(
            responses(json!({"stream": true})),
            "claude-x",
        ))
        .await
        .unwrap();
    let report = res.usage_report().unwrap().clone();
    let text = body_text(res).await;
    let events = events(&text);
    let deltas: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "salut");
    let last = events.last().unwrap();
    assert_eq!(
        (
            last["type"].as_str(),
            last["response"]["usage"]["input_tokens"].as_u64()
        ),
        (Some("response.completed"), Some(14))
    );
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            outcome
        ),
        (14, 2, 3, Outcome::Complete)
    );
}
