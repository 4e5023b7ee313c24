use agent_gateway_core::response::{AgentResponse, Outcome};
use agent_gateway_core::{BoxError, Secret};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::testkit::{FakeProvider, Script};
use crate::{Api, Dialect};

fn chat(extra: Value) -> LlmRequest {
    let mut body = json!({"model": "alias", "messages": [{"role": "user", "content": "hi"}]});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    LlmRequest::decode(Api::ChatCompletions, body).unwrap()
}

fn with_client_key(req: LlmRequest) -> LlmRequest {
    let mut h = http::HeaderMap::new();
    h.insert("authorization", "Bearer sk-client".parse().unwrap());
    h.insert("x-api-key", "sk-client".parse().unwrap());
    h.insert("anthropic-version", "2026-10-21".parse().unwrap());
    req.with_headers(h)
}

pub(super) async fn body_text(res: LlmResponse) -> String {
    let bytes = res
        .into_http(Dialect::OpenAi)
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The client's credential never goes upstream: the provider sends its own key, or none.
#[tokio::test]
async fn client_credential_is_never_forwarded() {
    let fake = FakeProvider::new();
    let own = OpenAiProvider::new(fake.clone(), "http://up/v1")
        .unwrap()
        .with_api_key(Secret::new("sk-own".into()));
    own.oneshot(ProviderRequest::new(with_client_key(chat(json!({}))), "m"))
        .await
        .unwrap();
    let none = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    none.oneshot(ProviderRequest::new(with_client_key(chat(json!({}))), "m"))
        .await
        .unwrap();
    let seen = fake.requests();
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-own");
    assert!(seen[1].headers.get("authorization").is_none());
    assert!(
        seen.iter()
            .all(|r| !format!("{:?}", r.headers).contains("sk-client"))
    );
    assert!(seen.iter().all(|r| r.headers.get("x-api-key").is_none()));
    assert_eq!(seen[0].path, "/v1/chat/completions");
    // Debug never shows the key.
    let debug = format!(
        "{:?}",
        OpenAiProvider::new((), "http://up/v1")
            .unwrap()
            .with_api_key(Secret::new("sk-own".into()))
    );
    assert!(!debug.contains("sk-own"), "{debug}");
}

#[tokio::test]
async fn anthropic_sends_its_key_and_the_client_version() {
    let fake = FakeProvider::new().push(Script::text("hi").with_usage(12, 6).with_cached(4));
    let provider = AnthropicProvider::new(fake.clone(), "http://up/")
        .unwrap()
        .with_api_key(Secret::new("sk-ant-own".into()));
    let req = LlmRequest::decode(
        Api::Messages,
        json!({"model": "c", "max_tokens": 9, "messages": [], "x_new": 1}),
    )
    .unwrap();
    let res = provider
        .clone()
        .oneshot(ProviderRequest::new(with_client_key(req), "claude-x"))
        .await
        .unwrap();
    let (usage, _) = res.usage_report().unwrap().usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens
        ),
        (16, 4, 6)
    );
    let seen = &fake.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], "sk-ant-own");
    assert_eq!(seen.headers["anthropic-version"], "2026-10-21");
    assert!(seen.headers.get("authorization").is_none());
    assert_eq!(seen.body["model"], "claude-x");
    assert_eq!(seen.body["x_new"], 1, "unknown fields reach the provider");
}

#[tokio::test]
async fn streamed_chat_is_translated_from_anthropic_events() {
    let fake = FakeProvider::new().push(
        Script::tool_call("tu_1", "f", json!({"q": "x"}))
            .with_usage(20, 5)
            .with_cached(8),
    );
    let provider = AnthropicProvider::new(fake.clone(), "http://up").unwrap();
    let req = chat(json!({"stream": true, "stream_options": {"include_usage": true}}));
    let res = provider
        .oneshot(ProviderRequest::new(req, "claude-x"))
        .await
        .unwrap();
    assert!(res.is_stream());
    let seen = &fake.requests()[0];
    assert_eq!(
        (seen.path.as_str(), &seen.body["stream"]),
        ("/v1/messages", &json!(true))
    );
    assert!(seen.body.get("stream_options").is_none(), "{}", seen.body);
    let report = res.usage_report().unwrap().clone();
    let text = body_text(res).await;
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("event:"), "{text}");
    assert!(text.contains("\"finish_reason\":\"tool_calls\""), "{text}");
    assert!(text.contains("\"id\":\"tu_1\""), "{text}");
    assert!(text.contains("\"prompt_tokens\":28"), "{text}");
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            outcome
        ),
        (28, 8, 5, Outcome::Complete)
    );
}

#[tokio::test]
async fn stream_usage_is_requested_and_hidden_when_the_client_did_not_ask() {
    let fake = FakeProvider::new().push(Script::text("héllo").with_usage(11, 3));
    let provider = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    let price = Price::per_million(2.0, 4.0);
    let res = provider
        .clone()
        .oneshot(
            ProviderRequest::new(
                chat(json!({"stream": true, "stream_options": {"x": 1}})),
                "m",
            )
            .with_price(price),
        )
        .await
        .unwrap();
    assert!(res.is_stream());
    let report = res.usage_report().unwrap().clone();
    assert!(report.usage().is_none(), "not before the stream ends");
    let text = body_text(res).await;
    assert!(!text.contains("\"choices\":[]"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, outcome),
        (11, 3, Outcome::Complete)
    );
    assert_eq!(usage.cost.unwrap().nano_usd(), 11 * 2_000 + 3 * 4_000);
    assert_eq!(
        fake.requests()[0].body["stream_options"],
        json!({"x": 1, "include_usage": true})
    );

    // A client that asked sees the usage chunk, byte for byte as upstream sent it.
    let fake = FakeProvider::new().push(Script::text("hi").with_usage(2, 1));
    let provider = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    let req = chat(json!({"stream": true, "stream_options": {"include_usage": true}}));
    let res = provider
        .oneshot(ProviderRequest::new(req, "m"))
        .await
        .unwrap();
    let text = body_text(res).await;
    assert!(text.contains("\"choices\":[],"), "{text}");
}

#[tokio::test]
async fn upstream_errors_are_typed_with_retry_after() {
    let fake = FakeProvider::new().push(Script::error(429, "slow down").with_retry_after(7));
    let provider = OpenAiProvider::new(fake, "http://up/v1").unwrap();
    let err: BoxError = provider
        .oneshot(ProviderRequest::new(chat(json!({})), "m"))
        .await
        .unwrap_err();
    let status = err.downcast_ref::<crate::error::UpstreamStatus>().unwrap();
    assert_eq!(
        (status.status().as_u16(), status.message()),
        (429, "slow down")
    );
    assert_eq!(
        status.retry_after(),
        Some(std::time::Duration::from_secs(7))
    );
    assert!(OpenAiProvider::new((), "not a url").is_err());
    assert!(OpenAiProvider::new((), "ftp://x/v1").is_err());
}

#[tokio::test]
async fn chat_is_translated_to_messages_and_back() {
    let fake = FakeProvider::new().push(
        Script::tool_call("tu_1", "f", json!({"q": "x"}))
            .with_usage(20, 5)
            .with_cached(8),
    );
    let provider = AnthropicProvider::new(fake.clone(), "http://up").unwrap();
    // The client's headers say 2026-10-21, which forbids sampling parameters: one sent is
    // refused by name, as Anthropic would, never dropped; and nothing is sent upstream.
    let req = with_client_key(chat(json!({"temperature": 0.5, "max_tokens": 7})));
    let err = provider
        .clone()
        .oneshot(ProviderRequest::new(req, "claude-x"))
        .await
        .unwrap_err();
    let refused = err.downcast_ref::<crate::error::InvalidRequest>().unwrap();
    assert_eq!(refused.param(), Some("temperature"));
    assert_eq!(fake.calls(), 0);
    let req = with_client_key(chat(json!({"max_tokens": 7})));
    let res = provider
        .oneshot(ProviderRequest::new(req, "claude-x"))
        .await
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.body["max_tokens"], 7);
    assert_eq!(seen.headers["anthropic-version"], "2026-10-21");
    let out = res.output().unwrap().clone();
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(
        out["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "f"
    );
    assert_eq!(out["usage"]["prompt_tokens"], 28);
    let (usage, _) = res.usage_report().unwrap().usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens
        ),
        (28, 8, 5)
    );
    let text = body_text(res).await;
    assert!(
        text.contains("\"tool_calls\""),
        "the client gets the translated bytes: {text}"
    );
}

#[tokio::test]
async fn messages_are_translated_to_chat_and_back() {
    let fake = FakeProvider::new().push(Script::text("bonjour").with_usage(9, 2));
    let provider = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    let body = json!({"model": "c", "max_tokens": 9, "system": "sys", "messages": [{"role": "user", "content": "hi"}]});
    let req = LlmRequest::decode(Api::Messages, body).unwrap();
    let res = provider
        .clone()
        .oneshot(ProviderRequest::new(req, "gpt-x"))
        .await
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(
        seen.body["messages"][0],
        json!({"role": "system", "content": "sys"})
    );
    assert_eq!(seen.body["model"], "gpt-x");
    let out = res.output().unwrap();
    assert_eq!(
        (out["type"].as_str(), out["content"][0]["text"].as_str()),
        (Some("message"), Some("bonjour"))
    );
    assert_eq!(out["usage"]["input_tokens"], 9);

    // Streamed: usage is requested upstream, and arrives in message_delta.
    let fake = FakeProvider::new().push(Script::text("bonjour").with_usage(9, 2).with_cached(4));
    let provider = OpenAiProvider::new(fake.clone(), "http://up/v1").unwrap();
    let body = json!({"model": "c", "max_tokens": 9, "messages": [], "stream": true});
    let req = LlmRequest::decode(Api::Messages, body).unwrap();
    let res = provider
        .oneshot(ProviderRequest::new(req, "gpt-x"))
        .await
        .unwrap();
    let seen = &fake.requests()[0];
    assert_eq!(seen.body["stream"], true);
    assert_eq!(seen.body["stream_options"]["include_usage"], true);
    let report = res.usage_report().unwrap().clone();
    let text = body_text(res).await;
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(
        text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{text}"
    );
    assert!(text.contains("\"usage\":{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4,\"input_tokens\":5,\"output_tokens\":2}"), "{text}");
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
            outcome
        ),
        (9, 4, 2, Outcome::Complete)
    );
}

/// Anthropic bills input written to the prompt cache apart from plain input: it is priced at
/// the deployment's cache-write price, whole answers and streams alike (#13).
#[tokio::test]
async fn cache_writes_are_priced_apart_from_input() {
    let usage = json!({"input_tokens": 100, "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 300, "output_tokens": 10});
    let whole = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "usage": usage});
    let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let streamed = Script::raw_sse([
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_2",
            "type": "message", "role": "assistant", "model": "c", "content": [], "usage": usage}}),
        ),
        event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 10}}),
        ),
        event("message_stop", json!({"type": "message_stop"})),
    ]);
    let fake = FakeProvider::new()
        .push(Script::raw_json(whole))
        .push(streamed);
    let provider = AnthropicProvider::new(fake, "http://up").unwrap();
    let price = Price::per_million(3.0, 15.0)
        .with_cached_per_million(0.3)
        .with_cache_write_per_million(3.75);
    // 100 plain input at $3, 200 written at $3.75, 300 read at $0.30, 10 output at $15.
    let expected = 100 * 3_000 + 200 * 3_750 + 300 * 300 + 10 * 15_000;
    for stream in [false, true] {
        let body = json!({"model": "alias", "max_tokens": 20, "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]});
        let req = LlmRequest::decode(Api::Messages, body).unwrap();
        let res = provider
            .clone()
            .oneshot(ProviderRequest::new(req, "claude-x").with_price(price))
            .await
            .unwrap();
        let report = res.usage_report().unwrap().clone();
        body_text(res).await;
        let (usage, _) = report.usage().unwrap();
        assert_eq!(
            (usage.input_tokens, usage.cached_input_tokens),
            (600, 300),
            "stream: {stream}"
        );
        assert_eq!(usage.cost.unwrap().nano_usd(), expected, "stream: {stream}");
    }
}
