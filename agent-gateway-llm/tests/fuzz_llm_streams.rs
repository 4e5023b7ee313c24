//! Property tests of every LLM stream body: the translators (messages→chat, chat→messages,
//! chat→responses), the usage-chunk strip, the error renderer (each wire), the error-event
//! abort, and the usage meter (each wire).
//!
//! The strong property: a stream fed whole and the same bytes cut at arbitrary points give
//! byte-identical output, the same error and the same usage. Also: no panic on any event
//! sequence (garbage, truncation, an upstream reset), output bounded by the input, and a body
//! that never waits on a ready upstream.

#[path = "../../agent-gateway-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use agent_gateway_core::response::{MeteredBody, Outcome};
use agent_gateway_core::{BoxError, Usage, UsageReport};
use agent_gateway_llm::Price;
use agent_gateway_llm::stream::{
    AbortOnErrorEvent, ChatToMessages, ChatToResponses, MessagesToChat, RenderStreamError,
    SseMeter, SseTransform, StripUsageChunk,
};
use agent_gateway_llm::usage::Wire;
use bytes::Bytes;
use fuzz_support::{cuts, split, text};
use http_body::{Body, Frame};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_llm_streams.txt";

/// An upstream body: the chunks, then optionally a reset.
struct Upstream {
    chunks: VecDeque<Bytes>,
    reset: bool,
}

impl Body for Upstream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if std::mem::take(&mut self.reset) {
            return Poll::Ready(Some(Err("connection reset".into())));
        }
        Poll::Ready(None)
    }
}

/// `bytes` cut at `cuts`, as an upstream body.
fn upstream(bytes: &[u8], cuts: &[usize], reset: bool) -> Upstream {
    Upstream {
        chunks: split(bytes, cuts)
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect(),
        reset,
    }
}

/// What a body gave: its bytes, and the error it ended with.
#[derive(Debug, PartialEq)]
struct Output {
    bytes: Vec<u8>,
    error: Option<String>,
}

/// Drains `body`, whose upstream is always ready: it must never wait.
fn drain<B>(body: B) -> Result<Output, TestCaseError>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Output {
        bytes: Vec::new(),
        error: None,
    };
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Pending => return Err(TestCaseError::fail("waited on a ready upstream")),
            Poll::Ready(None) => return Ok(out),
            Poll::Ready(Some(Err(e))) => {
                out.error = Some(e.to_string());
                return Ok(out);
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.bytes.extend_from_slice(&data);
                }
            }
        }
    }
}

fn event(name: Option<&str>, data: &Value, crlf: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut s = String::new();
    if let Some(name) = name {
        s.push_str(&format!("event: {name}{eol}"));
    }
    s.push_str(&format!("data: {data}{eol}{eol}"));
    s.into_bytes()
}

/// Lines that are not events of the dialect: comments, junk data, an unfinished event.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b": keep-alive\n\n".to_vec()),
        Just(b"data: {not json\n\n".to_vec()),
        Just(b"data: [DONE]\n\n".to_vec()),
        Just(b"retry: 10\n\n".to_vec()),
        Just(b"data: {}\n\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

/// One OpenAI chat chunk (or its usage chunk, an error, the end).
fn chat_event() -> impl Strategy<Value = (Option<&'static str>, Value)> {
    let content = text().prop_map(|t| {
        json!({"id": "c1", "object": "chat.completion.chunk",
        "model": "m", "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}],
        "usage": null})
    });
    let role = Just(json!({"id": "c1", "model": "m", "choices": [{"index": 0,
        "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}));
    let tool = (0u8..2, prop::option::of(text()), text()).prop_map(|(i, name, args)| {
        let mut call = json!({"index": i, "function": {"arguments": args}});
        if let Some(name) = name {
            call["id"] = json!(format!("call_{i}"));
            call["type"] = json!("function");
            call["function"]["name"] = json!(name);
        }
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    });
    let finish = prop::sample::select(vec!["stop", "length", "tool_calls", "content_filter"])
        .prop_map(|r| json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": r}]}));
    let usage = (0u32..5000, 0u32..5000).prop_map(|(p, c)| {
        json!({"id": "c1", "choices": [],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}})
    });
    let error = text().prop_map(|m| json!({"error": {"message": m, "type": "server_error"}}));
    prop_oneof![
        6 => content.prop_map(|v| (None, v)),
        1 => role.prop_map(|v| (None, v)),
        3 => tool.prop_map(|v| (None, v)),
        2 => finish.prop_map(|v| (None, v)),
        2 => usage.prop_map(|v| (None, v)),
        1 => error.prop_map(|v| (None, v)),
        1 => Just((None, json!("[DONE]"))),
    ]
}

/// One Anthropic Messages event.
fn messages_event() -> impl Strategy<Value = (Option<&'static str>, Value)> {
    let start = (0u32..5000, 0u32..50).prop_map(|(i, o)| {
        (
            "message_start",
            json!({"type": "message_start",
        "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
                    "content": [], "usage": {"input_tokens": i, "output_tokens": o}}}),
        )
    });
    let block_start = (
        0u8..3,
        prop::sample::select(vec!["text", "tool_use", "thinking"]),
    )
        .prop_map(|(i, kind)| {
            let block = match kind {
                "tool_use" => json!({"type": "tool_use", "id": "tu_1", "name": "f", "input": {}}),
                "thinking" => json!({"type": "thinking", "thinking": ""}),
                _ => json!({"type": "text", "text": ""}),
            };
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": i, "content_block": block}),
            )
        });
    let delta = (
        0u8..3,
        prop::sample::select(vec!["text_delta", "input_json_delta", "thinking_delta"]),
        text(),
    )
        .prop_map(|(i, kind, t)| {
            let delta = match kind {
                "input_json_delta" => json!({"type": kind, "partial_json": t}),
                "thinking_delta" => json!({"type": kind, "thinking": t}),
                _ => json!({"type": kind, "text": t}),
            };
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": i, "delta": delta}),
            )
        });
    let stop = (0u8..3).prop_map(|i| {
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        )
    });
    let message_delta = (
        prop::sample::select(vec!["end_turn", "max_tokens", "tool_use", "stop_sequence"]),
        0u32..5000,
    )
        .prop_map(|(r, o)| {
            (
                "message_delta",
                json!({"type": "message_delta",
            "delta": {"stop_reason": r}, "usage": {"output_tokens": o}}),
            )
        });
    let error = text().prop_map(|m| {
        (
            "error",
            json!({"type": "error",
        "error": {"type": "overloaded_error", "message": m}}),
        )
    });
    prop_oneof![
        2 => start,
        2 => block_start,
        6 => delta,
        2 => stop,
        2 => message_delta,
        1 => Just(("message_stop", json!({"type": "message_stop"}))),
        1 => Just(("ping", json!({"type": "ping"}))),
        1 => error,
    ]
    .prop_map(|(name, value)| (Some(name), value))
}

/// One OpenAI Responses event.
fn responses_event() -> impl Strategy<Value = (Option<&'static str>, Value)> {
    let delta = text().prop_map(|t| {
        (
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "delta": t}),
        )
    });
    let done = (0u32..5000, 0u32..5000).prop_map(|(i, o)| {
        (
            "response.completed",
            json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed",
               "usage": {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}}}),
        )
    });
    let failed = Just((
        "response.failed",
        json!({"type": "response.failed",
        "response": {"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "x"}}}),
    ));
    prop_oneof![4 => delta, 2 => done, 1 => failed].prop_map(|(name, value)| (Some(name), value))
}

/// A stream: events of the dialect mixed with noise, encoded with LF or CRLF, possibly cut
/// short at any byte.
fn stream(
    events: impl Strategy<Value = (Option<&'static str>, Value)>,
) -> impl Strategy<Value = Vec<u8>> {
    let item = prop_oneof![
        8 => (events, any::<bool>()).prop_map(|((name, data), crlf)| {
            if data == json!("[DONE]") {
                return b"data: [DONE]\n\n".to_vec();
            }
            event(name, &data, crlf)
        }),
        1 => noise(),
    ];
    (
        prop::collection::vec(item, 0..24),
        prop::option::of(any::<usize>()),
    )
        .prop_map(|(items, cut)| {
            let mut bytes = items.concat();
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes
        })
}

/// `bytes` as text with the wall-clock stamps a translator writes (`"created":…`,
/// `"created_at":…`, in seconds) zeroed: two runs may straddle a second.
fn without_clock(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut rest = &text[..];
    while let Some(at) = ["\"created\":", "\"created_at\":"]
        .iter()
        .filter_map(|key| rest.find(key).map(|i| (i, key.len())))
        .min()
    {
        let (i, len) = at;
        out.push_str(&rest[..i + len]);
        rest = rest[i + len..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('0');
    }
    out.push_str(rest);
    out
}

/// Checks `make` gives the same output for `bytes` whole and cut at `cuts`, bounded by the
/// input, with and without an upstream reset at the end.
fn check<B>(bytes: &[u8], cuts: &[usize], make: impl Fn(Upstream) -> B) -> Result<(), TestCaseError>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    for reset in [false, true] {
        let whole = drain(make(upstream(bytes, &[], reset)))?;
        let cut = drain(make(upstream(bytes, cuts, reset)))?;
        prop_assert_eq!(
            without_clock(&cut.bytes),
            without_clock(&whole.bytes),
            "cut at {:?}, reset {}",
            cuts,
            reset
        );
        prop_assert_eq!(&cut.error, &whole.error);
        // Bounded: a translation writes at most a few events per input event, each a small
        // multiple of the input's size, plus the closing events.
        let bound = 8 * bytes.len() + 4096;
        prop_assert!(
            whole.bytes.len() <= bound,
            "{} bytes out for {} in",
            whole.bytes.len(),
            bytes.len()
        );
    }
    Ok(())
}

/// The usage a metered `wire` stream reports, fed `bytes` cut at `cuts`.
fn metered(
    wire: Wire,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<Option<(Usage, Outcome)>, TestCaseError> {
    let report = UsageReport::new();
    let meter = SseMeter::new(wire, Price::per_million(1.0, 2.0));
    drain(MeteredBody::new(
        upstream(bytes, cuts, false),
        meter,
        report.clone(),
    ))?;
    Ok(report.usage())
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_llm_messages_to_chat_split(bytes in stream(messages_event()), cuts in cuts(), usage in any::<bool>()) {
        check(&bytes, &cuts, |up| SseTransform::new(up, MessagesToChat::new(usage)))?;
    }

    #[test]
    fn fuzz_llm_chat_to_messages_split(bytes in stream(chat_event()), cuts in cuts()) {
        check(&bytes, &cuts, |up| SseTransform::new(up, ChatToMessages::new()))?;
    }

    #[test]
    fn fuzz_llm_chat_to_responses_split(bytes in stream(chat_event()), cuts in cuts()) {
        check(&bytes, &cuts, |up| SseTransform::new(up, ChatToResponses::new()))?;
    }

    #[test]
    fn fuzz_llm_strip_usage_split(bytes in stream(chat_event()), cuts in cuts()) {
        check(&bytes, &cuts, StripUsageChunk::new)?;
        // Only usage chunks go: what is left is no longer than what came.
        let out = drain(StripUsageChunk::new(upstream(&bytes, &cuts, false)))?;
        prop_assert!(out.bytes.len() <= bytes.len());
    }

    #[test]
    fn fuzz_llm_render_error_split(
        (wire, bytes) in prop_oneof![
            stream(chat_event()).prop_map(|b| (Wire::ChatCompletions, b)),
            stream(messages_event()).prop_map(|b| (Wire::Messages, b)),
            stream(responses_event()).prop_map(|b| (Wire::Responses, b)),
        ],
        cuts in cuts(),
    ) {
        check(&bytes, &cuts, |up| RenderStreamError::new(up, wire))?;
        check(&bytes, &cuts, |up| RenderStreamError::new(AbortOnErrorEvent::new(up), wire))?;
    }

    #[test]
    fn fuzz_llm_abort_on_error_event_relays_unchanged(
        bytes in prop_oneof![stream(chat_event()), stream(messages_event()), stream(responses_event())],
        cuts in cuts(),
    ) {
        check(&bytes, &cuts, AbortOnErrorEvent::new)?;
        // It never alters a byte: what it relays is a prefix of what came.
        let out = drain(AbortOnErrorEvent::new(upstream(&bytes, &cuts, false)))?;
        prop_assert!(bytes.starts_with(&out.bytes));
    }

    #[test]
    fn fuzz_llm_meter_split(
        (wire, bytes) in prop_oneof![
            stream(chat_event()).prop_map(|b| (Wire::ChatCompletions, b)),
            stream(messages_event()).prop_map(|b| (Wire::Messages, b)),
            stream(responses_event()).prop_map(|b| (Wire::Responses, b)),
        ],
        cuts in cuts(),
    ) {
        let whole = metered(wire, &bytes, &[])?;
        prop_assert!(whole.is_some(), "the report completes when the stream ends");
        prop_assert_eq!(metered(wire, &bytes, &cuts)?, whole);
    }

    /// The meter only watches: whatever it is fed goes out byte for byte.
    #[test]
    fn fuzz_llm_meter_relays_unchanged(bytes in prop::collection::vec(any::<u8>(), 0..256), cuts in cuts()) {
        let meter = SseMeter::new(Wire::ChatCompletions, Price::per_million(1.0, 1.0));
        let out = drain(MeteredBody::new(upstream(&bytes, &cuts, false), meter, UsageReport::new()))?;
        prop_assert_eq!(out.bytes, bytes);
    }
}

/// Regression (found by `fuzz_llm_abort_on_error_event_relays_unchanged`): the rest of the
/// chunk that carried upstream's error event went out after it, so what the client saw
/// depended on where upstream cut its stream. The stream now ends with the line break that
/// dispatched the error event (a CR, here: the LF after it would be ignored by the client).
#[test]
fn fuzz_regression_nothing_follows_an_error_event_in_its_chunk() {
    let error = "data: {\"error\":{\"message\":\"m\",\"type\":\"server_error\"}}\r\n\r\n";
    let stream = format!("data: {{\"choices\":[]}}\n\n{error}data: {{\"choices\":[]}}\n\n");
    for cuts in [vec![], vec![3], vec![error.len() + 20]] {
        let out = drain(AbortOnErrorEvent::new(upstream(
            stream.as_bytes(),
            &cuts,
            false,
        )))
        .expect("drained");
        let expected = format!("data: {{\"choices\":[]}}\n\n{}", &error[..error.len() - 1]);
        assert_eq!(String::from_utf8_lossy(&out.bytes), expected);
        assert_eq!(
            out.error.as_deref(),
            Some("upstream ended the stream with an error event")
        );
    }
}
