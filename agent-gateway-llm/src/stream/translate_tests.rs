use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use agent_gateway_core::BoxError;
use agent_gateway_core::sse::{Decoder, Event};

use super::*;

/// A body of the given chunks, then optionally an error.
pub(super) struct Chunks(pub(super) VecDeque<Result<Bytes, &'static str>>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(
            self.0
                .pop_front()
                .map(|r| r.map(Frame::data).map_err(Into::into)),
        )
    }
}

pub(super) fn cut(s: &str, n: usize) -> Chunks {
    Chunks(
        s.as_bytes()
            .chunks(n)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect(),
    )
}

pub(super) async fn events_of(
    body: impl Body<Data = Bytes, Error = BoxError>,
) -> (String, Vec<Event>) {
    let bytes = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut events = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(&bytes, &mut events).unwrap();
    assert!(!decoder.finish(), "ends between events: {text}");
    (text, events)
}

pub(super) fn json_of(e: &Event) -> Value {
    serde_json::from_str(&e.data).unwrap()
}

const ANTHROPIC: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_read_input_tokens\":3}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\":\"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hé\"}}\r\n\r\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"llo\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\":\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Oslo\\\"}\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#[tokio::test]
async fn anthropic_events_become_chat_chunks_however_the_stream_is_cut() {
    let (first, _) = events_of(SseTransform::new(
        cut(ANTHROPIC, 4096),
        MessagesToChat::new(true),
    ))
    .await;
    for n in [1, 2, 5, 33] {
        let (text, _) = events_of(SseTransform::new(
            cut(ANTHROPIC, n),
            MessagesToChat::new(true),
        ))
        .await;
        // Only `created` could differ, and it is taken once per stream.
        let strip = |s: &str| {
            s.split("\"created\":")
                .map(|p| p.split_once(',').map_or(p, |x| x.1).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&text), strip(&first), "cut every {n} bytes");
    }
    let (text, events) = events_of(SseTransform::new(
        cut(ANTHROPIC, 7),
        MessagesToChat::new(true),
    ))
    .await;
    assert!(
        events.iter().all(|e| e.event.is_none()),
        "data-only lines: {text}"
    );
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(json_of).collect();
    assert!(chunks.iter().all(|c| c["id"] == "msg_1"
        && c["model"] == "claude-x"
        && c["object"] == "chat.completion.chunk"));
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let content: String = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/content")?.as_str())
        .collect();
    assert_eq!(content, "héllo");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/tool_calls/0"))
        .collect();
    assert_eq!(
        calls[0],
        &json!({"index": 0, "id": "toolu_9", "type": "function", "function": {"name": "get_weather", "arguments": ""}})
    );
    let args: String = calls
        .iter()
        .filter_map(|c| c.pointer("/function/arguments")?.as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Oslo"})
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
    // The usage chunk comes last, with no choices; every other chunk has `usage: null`.
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 15, "completion_tokens": 7, "total_tokens": 22, "prompt_tokens_details": {"cached_tokens": 3}})
    );
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["usage"].is_null() && c.get("usage").is_some())
    );

    // Without include_usage: no usage chunk, no usage field.
    let (text, events) = events_of(SseTransform::new(
        cut(ANTHROPIC, 64),
        MessagesToChat::new(false),
    ))
    .await;
    assert!(!text.contains("usage"), "{text}");
    assert_eq!(events.last().unwrap().data, "[DONE]");
}

pub(super) const CHAT: &str = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hé\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n\
: keep-alive\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo\"},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n\
data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":9,\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n\
data: [DONE]\n\n";

#[tokio::test]
async fn chat_chunks_become_named_anthropic_events_however_the_stream_is_cut() {
    let (first, _) = events_of(SseTransform::new(cut(CHAT, 4096), ChatToMessages::new())).await;
    for n in [1, 3, 40] {
        let (text, _) = events_of(SseTransform::new(cut(CHAT, n), ChatToMessages::new())).await;
        assert_eq!(text, first, "cut every {n} bytes");
    }
    let (text, events) = events_of(SseTransform::new(cut(CHAT, 9), ChatToMessages::new())).await;
    // Every event is named, and its name is its data's type.
    for e in &events {
        assert_eq!(
            Some(json_of(e)["type"].as_str().unwrap()),
            e.event.as_deref(),
            "{text}"
        );
    }
    let names: Vec<&str> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let v: Vec<Value> = events.iter().map(json_of).collect();
    assert_eq!(v[0]["message"]["id"], "chatcmpl-1");
    assert_eq!(v[0]["message"]["model"], "gpt-x");
    assert_eq!(v[1]["content_block"], json!({"type": "text", "text": ""}));
    assert_eq!(
        (
            v[2]["delta"]["text"].as_str(),
            v[3]["delta"]["text"].as_str()
        ),
        (Some("hé"), Some("llo"))
    );
    assert_eq!(
        v[5]["content_block"],
        json!({"type": "tool_use", "id": "call_1", "name": "f", "input": {}})
    );
    assert_eq!(
        (v[5]["index"].as_u64(), v[6]["index"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        v[6]["delta"],
        json!({"type": "input_json_delta", "partial_json": "{\"a\":"})
    );
    assert_eq!(v[9]["content_block"]["id"], "call_2");
    assert_eq!(v[10]["delta"]["partial_json"], "{}");
    assert_eq!(v[12]["delta"]["stop_reason"], "tool_use");
    assert_eq!(
        v[12]["usage"],
        json!({"input_tokens": 16, "output_tokens": 9, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 0})
    );
}

#[tokio::test]
async fn cut_or_failed_upstream_ends_with_the_dialect_error_event() {
    // Anthropic upstream cut after the text: the chat client gets an error line, no [DONE].
    let cut_at = ANTHROPIC.find("event: content_block_stop").unwrap();
    let (text, events) = events_of(SseTransform::new(
        cut(&ANTHROPIC[..cut_at], 50),
        MessagesToChat::new(false),
    ))
    .await;
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(
        json_of(events.last().unwrap())["error"]["type"],
        "server_error"
    );

    // A chat upstream that fails mid-stream: the Anthropic client gets `event: error`.
    let mut parts: VecDeque<Result<Bytes, &str>> = VecDeque::new();
    parts.push_back(Ok(Bytes::from(
        CHAT.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n\r\n",
    )));
    parts.push_back(Err("connection reset"));
    let (text, events) = events_of(SseTransform::new(Chunks(parts), ChatToMessages::new())).await;
    let names: Vec<&str> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "error"
        ],
        "{text}"
    );
    assert_eq!(
        json_of(&events[3]),
        json!({"type": "error", "error": {"type": "api_error", "message": "upstream stream failed"}})
    );
    assert!(!text.contains("reset"), "no upstream detail leaks: {text}");

    // An error event from upstream is rendered in the other dialect.
    let overloaded = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let (_, events) = events_of(SseTransform::new(
        cut(overloaded, 10),
        MessagesToChat::new(true),
    ))
    .await;
    assert_eq!(
        json_of(&events[1]),
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
    );
    assert_eq!(events.len(), 2);
    let chat_error = "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n";
    let (_, events) = events_of(SseTransform::new(
        cut(chat_error, 10),
        ChatToMessages::new(),
    ))
    .await;
    assert_eq!(json_of(&events[0])["error"]["message"], "boom");
    // Not JSON at all: skipped, and the missing end reported.
    let (_, events) = events_of(SseTransform::new(
        cut("data: {nope\n\n", 4),
        ChatToMessages::new(),
    ))
    .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "error");
}
