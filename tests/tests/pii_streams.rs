//! PII redaction on streams, across chunk boundaries (#15): the PII guard's filter applied
//! through each protocol's `filter_text`, for every split point of a test text between two
//! stream chunks. The client still gets a valid stream of its dialect, and the first chunk
//! holds back no more than the filter must (at most the longest pattern).

#![allow(clippy::unwrap_used)]

use std::task::{Context, Poll, Waker};

use agent_gateway_a2a::body::full;
use agent_gateway_a2a::response::{A2aResponse, Reply};
use agent_gateway_a2a::stream::EventStream;
use agent_gateway_core::content::TextFilter;
use agent_gateway_core::sse::{Decoder, Event};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentResponse, BoxError, UsageReport};
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{Dialect, LlmBody, LlmFront, LlmRequest, LlmResponse};
use agent_gateway_policy::guard::pii::{PiiFilter, PiiGuard};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

/// Prose around an address, a card, an IBAN and a key, with a card and an IBAN that fail their
/// checks (these must pass as they are).
const TEXT: &str = "Sure. Contact ann.lee@example.com or pay 4111 1111 1111 1111 \
(not 4111 1111 1111 1112) to DE89 3704 0044 0532 0130 00, not DE89 3704 0044 0532 0130 01; \
the key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz. Bye.";

const REDACTED: &str = "Sure. Contact [REDACTED:email] or pay [REDACTED:payment_card] \
(not 4111 1111 1111 1112) to [REDACTED:iban], not DE89 3704 0044 0532 0130 01; \
the key is [REDACTED:anthropic_key]. Bye.";

/// Compiled once: every test shares it (a guard is cheap to clone, its filters are not shared).
fn guard() -> PiiGuard {
    static GUARD: std::sync::LazyLock<PiiGuard> = std::sync::LazyLock::new(PiiGuard::default);
    GUARD.clone()
}

/// What the filter releases for `first` alone, and how many bytes of it it holds back.
fn first_release(first: &str) -> (String, usize) {
    let mut filter: PiiFilter = guard().filter();
    let mut out = String::new();
    filter.push(first, &mut out).unwrap();
    (out, filter.held())
}

/// The split points of `TEXT`.
fn splits() -> impl Iterator<Item = usize> {
    (0..=TEXT.len()).filter(|i| TEXT.is_char_boundary(*i))
}

async fn client_events(res: LlmResponse, dialect: Dialect) -> Vec<Event> {
    let bytes = res
        .into_http(dialect)
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let mut events = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(&bytes, &mut events).unwrap();
    assert!(!decoder.finish(), "the stream ends between events");
    events
}

fn streamed(sse: String) -> LlmResponse {
    let mut res = LlmResponse::stream(
        StatusCode::OK,
        HeaderMap::new(),
        LlmBody::full(Bytes::from(sse)),
        UsageReport::new(),
    );
    res.filter_text(Box::new(guard().filter())).unwrap();
    res
}

fn data(ev: &Event) -> Value {
    serde_json::from_str(&ev.data).unwrap()
}

/// Checks the text a client assembled from its events, and that its first text event carried
/// everything of the first piece but what the filter alone must hold back.
fn check(split: usize, first_event_text: &str, whole: &str) {
    assert_eq!(whole, REDACTED, "split at {split}");
    let (released, held) = first_release(&TEXT[..split]);
    assert_eq!(first_event_text, released, "split at {split}");
    assert!(
        held <= guard().max_hold(),
        "split at {split}: {held} bytes held"
    );
}

#[tokio::test]
async fn openai_chat_stream_is_redacted_at_every_split_point() {
    let chunk = |delta: Value, finish: Value| {
        let v = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {v}\n\n")
    };
    for i in splits() {
        let sse = chunk(
            json!({"role": "assistant", "content": &TEXT[..i]}),
            Value::Null,
        ) + &chunk(json!({"content": &TEXT[i..]}), Value::Null)
            + &chunk(json!({}), json!("stop"))
            + "data: [DONE]\n\n";
        let events = client_events(streamed(sse), Dialect::OpenAi).await;
        let (done, chunks) = events.split_last().unwrap();
        assert_eq!(done.data, "[DONE]");
        let texts: Vec<String> = chunks
            .iter()
            .map(|e| {
                let v = data(e);
                assert_eq!(v["object"], "chat.completion.chunk");
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert_eq!(
            data(&chunks[chunks.len() - 1])["choices"][0]["finish_reason"],
            "stop"
        );
        check(i, &texts[0], &texts.concat());
    }
}

#[tokio::test]
async fn anthropic_stream_is_redacted_at_every_split_point() {
    let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let delta = |text: &str| {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        )
    };
    for i in splits() {
        let sse = event(
            "message_start",
            json!({"type": "message_start",
                "message": {"id": "msg", "type": "message", "role": "assistant", "content": [],
                            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        ) + &event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
        ) + &delta(&TEXT[..i])
            + &delta(&TEXT[i..])
            + &event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            )
            + &event(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}),
            )
            + &event("message_stop", json!({"type": "message_stop"}));
        let events = client_events(streamed(sse), Dialect::Anthropic).await;
        for ev in &events {
            assert_eq!(
                data(ev)["type"],
                ev.event_type(),
                "every event names its type"
            );
        }
        let names: Vec<&str> = events.iter().map(Event::event_type).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        let stop = names
            .iter()
            .position(|n| *n == "content_block_stop")
            .unwrap();
        let texts: Vec<String> = events
            .iter()
            .filter(|e| e.event_type() == "content_block_delta")
            .map(|e| data(e)["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            names[..stop]
                .iter()
                .filter(|n| **n == "content_block_delta")
                .count()
                == texts.len()
        );
        check(i, &texts[0], &texts.concat());
    }
}

#[tokio::test]
async fn responses_stream_is_redacted_at_every_split_point() {
    let event = |name: &str, mut v: Value| {
        v["type"] = name.into();
        format!("event: {name}\ndata: {v}\n\n")
    };
    let delta = |text: &str| {
        event(
            "response.output_text.delta",
            json!({"item_id": "m", "output_index": 0, "content_index": 0, "delta": text}),
        )
    };
    for i in (0..TEXT.len()).step_by(7) {
        let sse = delta(&TEXT[..i])
            + &delta(&TEXT[i..])
            + &event(
                "response.output_text.done",
                json!({"item_id": "m", "output_index": 0, "content_index": 0, "text": TEXT}),
            )
            + &event(
                "response.completed",
                json!({"response": {"output": [{"id": "m",
                "type": "message", "content": [{"type": "output_text", "text": TEXT}]}]}}),
            );
        let events = client_events(streamed(sse), Dialect::OpenAi).await;
        let texts: Vec<String> = events
            .iter()
            .filter(|e| e.event_type() == "response.output_text.delta")
            .map(|e| data(e)["delta"].as_str().unwrap().to_owned())
            .collect();
        check(i, &texts[0], &texts.concat());
        let done = events
            .iter()
            .find(|e| e.event_type() == "response.output_text.done")
            .unwrap();
        assert_eq!(data(done)["text"], REDACTED);
        let completed = data(events.last().unwrap());
        assert_eq!(
            completed["response"]["output"][0]["content"][0]["text"],
            REDACTED
        );
    }
}

/// Relays A2A `results` through a filtered stream: what the client gets.
fn a2a_relay(results: &[Value]) -> Vec<Value> {
    let sse: String = results
        .iter()
        .map(|r| {
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 1, "result": r})
            )
        })
        .collect();
    let mut res = A2aResponse::stream(EventStream::new(full(sse), Box::new(Ok)));
    res.filter_text(Box::new(guard().filter())).unwrap();
    let Reply::Stream(mut events) = res.into_reply() else {
        panic!("a stream")
    };
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match events.poll_next(&mut cx) {
            Poll::Ready(Some(Ok(v))) => out.push(v),
            Poll::Ready(None) => return out,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a2a_artifact_stream_is_redacted_at_every_split_point() {
    let chunk = |text: &str, append: bool, last: bool| {
        json!({"artifactUpdate": {"taskId": "t", "contextId": "c",
            "artifact": {"artifactId": "answer", "parts": [{"text": text}]},
            "append": append, "lastChunk": last}})
    };
    let done = json!({"statusUpdate": {"taskId": "t", "contextId": "c",
        "status": {"state": "TASK_STATE_COMPLETED"}}});
    for i in splits() {
        let events = a2a_relay(&[
            chunk(&TEXT[..i], false, false),
            chunk(&TEXT[i..], true, true),
            done.clone(),
        ]);
        assert_eq!(events.len(), 3, "split at {i}");
        assert_eq!(events[2], done);
        let texts: Vec<String> = events[..2]
            .iter()
            .map(|e| {
                assert_eq!(e["artifactUpdate"]["artifact"]["artifactId"], "answer");
                e["artifactUpdate"]["artifact"]["parts"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(events[1]["artifactUpdate"]["lastChunk"], true);
        check(i, &texts[0], &texts.concat());
    }
}

/// The whole path: the LLM front, a test-only layer handing each response the PII filter (what
/// the guard layer does), the router and a fake OpenAI provider that streams the text in two
/// halves cut inside the card number; a Chat, an Anthropic and a Responses client.
#[tokio::test]
async fn through_the_front_each_client_dialect_gets_a_redacted_valid_stream() {
    let text = "Card number 4111 1111 1111 1111 it is.";
    let fake = FakeProvider::new().with_default(Script::text(text));
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias("m", Deployment::new("oai", "up"))
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .map_response(|mut res: LlmResponse| {
            let _ = res.filter_text(Box::new(guard().filter()));
            res
        })
        .service(router);
    let front = LlmFront::new(BoxCloneSyncService::<LlmRequest, LlmResponse, BoxError>::new(svc));
    let client = TestClient::new(front);
    let expected = "Card number [REDACTED:payment_card] it is.";

    let res = client
        .post("/v1/chat/completions")
        .json(
            &json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let mut events = Vec::new();
    Decoder::new().feed(res.bytes(), &mut events).unwrap();
    let chat: String = events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| {
            data(e)["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(chat, expected);
    assert_eq!(events.last().unwrap().data, "[DONE]");

    let res = client
        .post("/v1/messages")
        .json(&json!({"model": "m", "stream": true, "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let mut events = Vec::new();
    Decoder::new().feed(res.bytes(), &mut events).unwrap();
    let anthropic: String = events
        .iter()
        .filter(|e| e.event_type() == "content_block_delta")
        .map(|e| data(e)["delta"]["text"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(anthropic, expected);
    assert_eq!(events.last().unwrap().event_type(), "message_stop");

    let res = client
        .post("/v1/responses")
        .json(&json!({"model": "m", "stream": true, "input": "hi"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let mut events = Vec::new();
    Decoder::new().feed(res.bytes(), &mut events).unwrap();
    let completed = events
        .iter()
        .find(|e| e.event_type() == "response.completed")
        .unwrap();
    assert_eq!(
        data(completed)["response"]["output"][0]["content"][0]["text"],
        expected
    );

    // Not streamed: the whole answer is redacted.
    let res = client
        .post("/v1/chat/completions")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await;
    let body = res.json();
    assert_eq!(body["choices"][0]["message"]["content"], expected);
}

/// How long the python clients may take.
const PYTHON_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The real `openai` and `anthropic` Python clients parse the redacted streams (Chat, Anthropic
/// Messages and Responses) the gateway sends them, and assemble the redacted text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_python_clients_parse_the_redacted_streams() {
    use agent_gateway_core::testkit::peers;
    let Some(python) = peers::find(
        peers::dir().join("venv/bin/python"),
        "the openai and anthropic python clients",
        "run .ci/peers to install the pinned openai and anthropic clients",
    ) else {
        return;
    };
    let text = "Write to ann.lee@example.com today.";
    let fake = FakeProvider::new().with_default(Script::text(text));
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake, "http://oai.test/v1").unwrap(),
        )
        .alias("m", Deployment::new("oai", "up"))
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .map_response(|mut res: LlmResponse| {
            let _ = res.filter_text(Box::new(guard().filter()));
            res
        })
        .service(router);
    let front = LlmFront::new(BoxCloneSyncService::<LlmRequest, LlmResponse, BoxError>::new(svc));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(front);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/llm/pii_stream.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("http://{addr}"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PYTHON_LIMIT, run)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed\n{stdout}\n{stderr}");
    let got: Value = serde_json::from_str(stdout.trim()).unwrap();
    let want = "Write to [REDACTED:email] today.";
    assert_eq!(
        got,
        json!({"chat": want, "anthropic": want, "anthropic_final": want, "responses": want})
    );
}
