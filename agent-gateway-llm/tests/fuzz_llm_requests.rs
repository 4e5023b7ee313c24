//! Property tests of LLM request decoding (chat, messages, responses), the request and
//! response translations between the dialects, and the front's whole decoding path.
//!
//! Properties: no panic; a request decodes from bytes exactly when it decodes from the parsed
//! value, with a model string and an input estimate bounded by the body; translations are
//! total and bounded by their input; bad input to the front gets its dialect's error and
//! reaches no provider, and nothing answers 5xx.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../agent-gateway-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::time::Duration;

use agent_gateway_core::AgentRequest;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::FakeProvider;
use agent_gateway_llm::translate::{
    chat_request_to_messages, chat_response_to_messages, chat_response_to_responses,
    messages_request_to_chat, messages_response_to_chat, responses_request_to_chat,
};
use agent_gateway_llm::{Api, LlmFront, LlmRequest};
use fuzz_support::{edits, json, mutate, text};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_llm_requests.txt";

/// How long a response may take before it is taken for a stream left open.
const BODY_WAIT: Duration = Duration::from_secs(2);

const APIS: [Api; 4] = [
    Api::ChatCompletions,
    Api::Messages,
    Api::Responses,
    Api::ListModels,
];

/// Good requests of each API, the seeds of the mutations.
fn seeds() -> Vec<(Api, Value)> {
    let tool =
        json!({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}});
    vec![
        (
            Api::ChatCompletions,
            json!({"model": "gpt", "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}),
        ),
        (
            Api::ChatCompletions,
            json!({"model": "claude", "stream": true,
            "stream_options": {"include_usage": true}, "max_tokens": 20, "tools": [tool],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                         {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                             "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}),
        ),
        (
            Api::Messages,
            json!({"model": "claude", "max_tokens": 20, "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}]}),
        ),
        (
            Api::Messages,
            json!({"model": "gpt", "max_tokens": 20, "stream": true,
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                         {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}]}),
        ),
        (
            Api::Responses,
            json!({"model": "gpt", "input": "hi", "instructions": "Be brief."}),
        ),
        (
            Api::Responses,
            json!({"model": "claude", "stream": true, "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}),
        ),
    ]
}

/// A body: a seed mutated byte-wise, a seed with members replaced by any JSON, or any JSON.
fn body() -> impl Strategy<Value = (Api, Vec<u8>)> {
    let mutated = (prop::sample::select(seeds()), edits())
        .prop_map(|((api, v), e)| (api, mutate(v.to_string().as_bytes(), &e)));
    let replaced = (
        prop::sample::select(seeds()),
        prop::sample::select(vec![
            "model",
            "messages",
            "input",
            "stream",
            "max_tokens",
            "tools",
            "system",
            "stream_options",
            "instructions",
            "temperature",
        ]),
        json(),
    )
        .prop_map(|((api, mut v), key, value)| {
            v[key] = value;
            (api, v.to_string().into_bytes())
        });
    let any_json = (prop::sample::select(APIS.to_vec()), json())
        .prop_map(|(api, v)| (api, v.to_string().into_bytes()));
    prop_oneof![3 => mutated, 3 => replaced, 1 => any_json]
}

/// The size of a value as JSON.
fn size(v: &Value) -> usize {
    v.to_string().len()
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_llm_request_decoding((api, bytes) in body()) {
        let from_bytes = LlmRequest::from_slice(api, &bytes);
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let from_value = LlmRequest::decode(api, value.clone());
            prop_assert_eq!(from_bytes.is_ok(), from_value.is_ok(), "bytes and value disagree");
            if let Ok(req) = &from_bytes {
                prop_assert_eq!(req.api(), api);
                if api != Api::ListModels {
                    prop_assert_eq!(req.model(), value["model"].as_str());
                    prop_assert_eq!(req.body(), &value, "the body is kept as it came");
                    let estimate = req.estimated_input_tokens().unwrap_or(0);
                    prop_assert!(estimate <= (bytes.len() as u64).div_ceil(4), "estimate {estimate}");
                }
            }
        } else {
            prop_assert!(from_bytes.is_err(), "not JSON, yet decoded");
        }
    }

    #[test]
    fn fuzz_llm_request_translations((api, bytes) in body()) {
        let Ok(value) = serde_json::from_slice::<Value>(&bytes) else { return Ok(()) };
        let bound = 8 * size(&value) + 1024;
        let outs = [
            chat_request_to_messages(&value).ok(),
            messages_request_to_chat(&value).ok(),
            responses_request_to_chat(&value).ok(),
        ];
        for out in outs.iter().flatten() {
            prop_assert!(size(out) <= bound, "{} bytes from {} ({api:?})", size(out), size(&value));
        }
    }

    #[test]
    fn fuzz_llm_response_translations(value in prop_oneof![
        json(),
        (text(), prop::sample::select(vec!["stop", "length", "tool_calls"]), json()).prop_map(|(t, r, args)| json!({
            "id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": r, "message": {"role": "assistant", "content": t,
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": args.to_string()}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4}})),
        (text(), json()).prop_map(|(t, input)| json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "c",
            "content": [{"type": "text", "text": t}, {"type": "tool_use", "id": "t", "name": "f", "input": input},
                        {"type": "thinking", "thinking": t}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2}})),
    ]) {
        let bound = 8 * size(&value) + 1024;
        let outs = [
            chat_response_to_messages(&value).ok(),
            messages_response_to_chat(&value).ok(),
            chat_response_to_responses(&value).ok(),
        ];
        for out in outs.iter().flatten() {
            prop_assert!(size(out) <= bound, "{} bytes from {}", size(out), size(&value));
        }
    }
}

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
        .alias("gpt", Deployment::new("oai", "gpt-up"))
        .alias("claude", Deployment::new("ant", "claude-up"))
        .build()
        .unwrap();
    LlmFront::new(router).with_max_body(2048)
}

fn path(api: Api) -> &'static str {
    match api {
        Api::ChatCompletions => "/v1/chat/completions",
        Api::Messages => "/v1/messages",
        Api::Responses => "/v1/responses",
        _ => "/v1/models",
    }
}

#[test]
fn fuzz_llm_front_decoding() {
    let fake = FakeProvider::new();
    let client = TestClient::new(gateway(&fake));
    let content_type = prop::sample::select(vec![
        "application/json",
        "application/vnd.x+json",
        "text/plain",
    ]);
    let strategy = (body(), content_type);
    fuzz_support::run_async(REGRESSIONS, strategy, |((api, bytes), content_type)| {
        let (client, fake) = (&client, fake.clone());
        async move {
            let before = fake.calls();
            let req = client
                .post(path(api))
                .header("content-type", content_type)
                .body(bytes);
            let Ok(res) = tokio::time::timeout(BODY_WAIT, req.send()).await else {
                return Ok(()); // a stream left open
            };
            let status = res.status().as_u16();
            prop_assert!(status < 500, "status {status}: {:?}", res.bytes());
            if status < 400 {
                return Ok(());
            }
            prop_assert_eq!(
                fake.calls(),
                before,
                "a refused request reached the provider"
            );
            let v: Value = serde_json::from_slice(res.bytes())
                .map_err(|e| TestCaseError::fail(format!("error body not JSON: {e}")))?;
            prop_assert!(
                v["error"]["type"].is_string() && v["error"]["message"].is_string(),
                "{}",
                v
            );
            if api == Api::Messages {
                prop_assert_eq!(&v["type"], "error", "Anthropic's error shape: {}", v);
            }
            Ok(())
        }
    });
}
