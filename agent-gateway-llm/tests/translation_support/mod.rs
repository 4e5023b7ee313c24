//! The gateway and the row runner shared by the translation table tests: one row per case,
//! asserting the exact JSON the provider receives and the exact answer the client gets.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, dead_code)]

use agent_gateway_core::sse::Decoder;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_llm::LlmFront;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use serde_json::{Value, json};

/// `claude` is served by an Anthropic provider, `gpt` by an OpenAI one (Chat Completions and
/// Responses), `gpt-chat` by an OpenAI-compatible server without the Responses API.
pub(crate) fn gateway(fake: &FakeProvider) -> TestClient<LlmFront<LlmRouter>> {
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .provider(
            "chat-only",
            OpenAiProvider::new(fake.clone(), "http://chat.test/v1")
                .unwrap()
                .with_responses_api(false),
        )
        .provider(
            "ant",
            AnthropicProvider::new(fake.clone(), "http://ant.test").unwrap(),
        )
        .alias("gpt", Deployment::new("oai", "gpt-up"))
        .alias("gpt-chat", Deployment::new("chat-only", "gpt-up"))
        .alias("claude", Deployment::new("ant", "claude-up"))
        .build()
        .unwrap();
    TestClient::new(LlmFront::new(router))
}

/// A translated call: what the client sends, what the provider must receive, what the
/// provider answers and what the client must get back (a JSON answer, or for a stream the
/// list of its events as [`events`] reads them).
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    pub(crate) request: Value,
    pub(crate) sent: Value,
    pub(crate) upstream: Script,
    pub(crate) client: Value,
}

/// A request the provider's dialect cannot express: refused with a 400 naming `param`, in
/// the client's dialect, and never sent.
pub(crate) struct Refused {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    pub(crate) request: Value,
    pub(crate) param: &'static str,
}

/// Runs `cases`, each against the same fake provider, and asserts every row exactly.
pub(crate) async fn run_cases(cases: Vec<Case>) {
    let fake = FakeProvider::new();
    let client = gateway(&fake);
    for case in cases {
        let fake_calls = fake.calls();
        let stream = case.request["stream"] == true;
        let fake_script = case.upstream;
        // The fake answers in queue order; one call per case.
        let fake = fake.clone().push(fake_script);
        let res = client.post(case.path).json(&case.request).send().await;
        assert_eq!(res.status(), 200, "{}: {}", case.name, res.text());
        assert_eq!(
            fake.calls(),
            fake_calls + 1,
            "{}: one upstream call",
            case.name
        );
        let sent = fake.requests().pop().unwrap().body;
        assert_eq!(sent, case.sent, "{}: what the provider received", case.name);
        let got = if stream {
            Value::Array(events(res.text()))
        } else {
            let mut v = res.json();
            strip_clock(&mut v);
            v
        };
        assert_eq!(got, case.client, "{}: what the client got", case.name);
    }
}

/// Runs `rows`: each is a 400 in the client's dialect naming the field, with no upstream call.
pub(crate) async fn run_refused(rows: Vec<Refused>) {
    let fake = FakeProvider::new();
    let client = gateway(&fake);
    for row in rows {
        let res = client.post(row.path).json(&row.request).send().await;
        assert_eq!(res.status(), 400, "{}: {}", row.name, res.text());
        let body = res.json();
        let named = format!("`{}`", row.param);
        if row.path == "/v1/messages" {
            assert_eq!(body["type"], "error", "{}", row.name);
            assert_eq!(
                body["error"]["type"], "invalid_request_error",
                "{}",
                row.name
            );
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(&named), "{}: {message}", row.name);
        } else {
            assert_eq!(
                body["error"]["type"], "invalid_request_error",
                "{}",
                row.name
            );
            assert_eq!(body["error"]["param"], row.param, "{}", row.name);
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(&named), "{}: {message}", row.name);
        }
    }
    assert_eq!(
        fake.calls(),
        0,
        "a refused request never reaches the provider"
    );
}

/// The events of an SSE body: `{"event": name, "data": json}` for a named event, the data's
/// JSON for a data-only one, `"[DONE]"` for the chat terminator; clock fields removed.
pub(crate) fn events(text: &str) -> Vec<Value> {
    let mut decoded = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(text.as_bytes(), &mut decoded).unwrap();
    assert!(!decoder.finish(), "the stream ends between events: {text}");
    decoded
        .iter()
        .map(|e| {
            if e.data == "[DONE]" {
                return json!("[DONE]");
            }
            let mut data: Value = serde_json::from_str(&e.data).unwrap();
            strip_clock(&mut data);
            match e.event.as_deref() {
                Some(name) => json!({"event": name, "data": data}),
                None => data,
            }
        })
        .collect()
}

/// Removes `created` and `created_at`, which a translation sets from the clock.
pub(crate) fn strip_clock(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("created");
            map.remove("created_at");
            map.values_mut().for_each(strip_clock);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_clock),
        _ => {}
    }
}

/// A named SSE event, as an upstream sends it.
pub(crate) fn named(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// A data-only SSE event, as an OpenAI upstream sends it.
pub(crate) fn data(data: Value) -> String {
    format!("data: {data}\n\n")
}

/// The tool every case offers, in chat's shape.
pub(crate) fn chat_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}})
}

/// The same tool, in Anthropic's shape.
pub(crate) fn anthropic_tool() -> Value {
    json!({"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}})
}
