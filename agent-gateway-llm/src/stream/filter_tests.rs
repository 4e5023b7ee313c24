#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use agent_gateway_core::UsageReport;
use agent_gateway_core::content::TextFilter;
use agent_gateway_core::response::AgentResponse;
use agent_gateway_core::sse::{Decoded, Decoder, Event};

use super::*;
use crate::{Dialect, LlmBody, LlmResponse};

fn mask() -> Box<dyn TextFilter> {
    agent_gateway_core::testkit::Mask::boxed()
}

/// A body of chunks that counts how many were read.
struct Chunks(VecDeque<Bytes>, Arc<AtomicUsize>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.0.pop_front();
        if next.is_some() {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }
}

fn chunks(pieces: &[&str]) -> (Chunks, Arc<AtomicUsize>) {
    let read = Arc::new(AtomicUsize::new(0));
    let queue = pieces
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect();
    (Chunks(queue, read.clone()), read)
}

/// Streams `pieces` through a filtered [`LlmResponse`] and decodes what the client gets.
async fn filtered(pieces: &[&str]) -> Vec<Event> {
    let (body, _) = chunks(pieces);
    let mut res = LlmResponse::stream(
        StatusCode::OK,
        HeaderMap::new(),
        LlmBody::stream(body),
        UsageReport::new(),
    );
    res.filter_text(mask()).unwrap();
    let bytes = res
        .into_http(Dialect::OpenAi)
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let mut events = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(&bytes, &mut events).unwrap();
    assert!(!decoder.finish(), "the client's stream ends between events");
    events
}

fn json_of(ev: &Event) -> Value {
    serde_json::from_str(&ev.data).unwrap()
}

const CHAT: &str = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"my sec\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ret is sec\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

#[tokio::test]
async fn chat_deltas_are_filtered_for_every_split_of_the_stream() {
    for i in 0..=CHAT.len() {
        let events = filtered(&[&CHAT[..i], &CHAT[i..]]).await;
        let (last, chunks) = events.split_last().unwrap();
        assert_eq!(last.data, "[DONE]");
        let text: String = chunks
            .iter()
            .map(|e| {
                json_of(e)["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert_eq!(text, "my ****** is sec", "split at {i}");
        // The held "sec" went out with the finish chunk, which keeps its finish_reason.
        let end = json_of(&chunks[2]);
        assert_eq!(end["choices"][0]["finish_reason"], "stop");
        assert_eq!(end["choices"][0]["delta"]["content"], "sec");
        assert_eq!(end["id"], "c1");
    }
}

const MESSAGES: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"content\":[]}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a secr\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"et, then secr\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#[tokio::test]
async fn anthropic_text_deltas_are_filtered_and_held_text_closes_its_block() {
    for i in 0..=MESSAGES.len() {
        let events = filtered(&[&MESSAGES[..i], &MESSAGES[i..]]).await;
        let names: Vec<&str> = events.iter().map(Event::event_type).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_stop"
            ],
            "split at {i}"
        );
        let text: String = events
            .iter()
            .filter(|e| e.event_type() == "content_block_delta")
            .map(|e| json_of(e)["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, "a ******, then secr");
        assert_eq!(json_of(&events[4])["index"], 0);
    }
}

const RESPONSES: &str = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"the secr\"}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"et is out\"}\n\n\
event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"text\":\"the secret is out\"}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[{\"id\":\"m1\",\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"the secret is out\"}]}]}}\n\n";

#[tokio::test]
async fn responses_deltas_and_the_events_repeating_the_text_are_filtered() {
    for i in 0..=RESPONSES.len() {
        let events = filtered(&[&RESPONSES[..i], &RESPONSES[i..]]).await;
        let text: String = events
            .iter()
            .filter(|e| e.event_type() == "response.output_text.delta")
            .map(|e| json_of(e)["delta"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text, "the ****** is out", "split at {i}");
        let done = events
            .iter()
            .find(|e| e.event_type() == "response.output_text.done")
            .unwrap();
        assert_eq!(json_of(done)["text"], "the ****** is out");
        let completed = json_of(events.last().unwrap());
        assert_eq!(
            completed["response"]["output"][0]["content"][0]["text"],
            "the ****** is out"
        );
    }
}

const NUMBERED: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{}}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"the secr\"}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"delta\":\"et, a sec\"}\n\n\
event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"sequence_number\":3,\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"text\":\"the secret, a sec\"}\n\n\
event: response.content_part.done\ndata: {\"type\":\"response.content_part.done\",\"sequence_number\":4,\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"the secret, a sec\"}}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":5,\"response\":{\"output\":[]}}\n\n";

#[tokio::test]
async fn the_extra_responses_event_is_numbered_in_sequence() {
    for i in 0..=NUMBERED.len() {
        let events = filtered(&[&NUMBERED[..i], &NUMBERED[i..]]).await;
        let numbers: Vec<u64> = events
            .iter()
            .map(|e| json_of(e)["sequence_number"].as_u64().unwrap())
            .collect();
        // The held "sec" went out in one extra delta before the done event: every number
        // after it moved up by one, and none repeats.
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6], "split at {i}");
        let extra = json_of(&events[3]);
        assert_eq!(extra["type"], "response.output_text.delta");
        assert_eq!(extra["delta"], "sec");
        assert_eq!(json_of(&events[4])["text"], "the ******, a sec");
    }
}

#[tokio::test]
async fn a_block_ends_the_stream_with_the_dialect_error_and_reads_no_further() {
    let (body, read) = chunks(&[
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"this is forb\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"idden\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"more\"}}]}\n\n",
        "data: [DONE]\n\n",
    ]);
    let body = SseTransform::new(body, FilterText::new(mask()));
    let out = body.collect().await.unwrap().to_bytes();
    let mut events = Vec::new();
    Decoder::new().feed(&out, &mut events).unwrap();
    assert_eq!(events.len(), 2, "{out:?}");
    assert_eq!(
        json_of(&events[0])["choices"][0]["delta"]["content"],
        "this is "
    );
    let err = json_of(&events[1]);
    assert_eq!(err["error"]["code"], "guardrail_blocked");
    assert_eq!(
        err["error"]["message"], "blocked by guardrail (rule no-forbidden)",
        "the event names the rule"
    );
    assert_eq!(read.load(Ordering::SeqCst), 2, "upstream read no further");

    let anthropic = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"forbidden\"}}\n\n";
    let events = filtered(&[anthropic]).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "error");
    assert_eq!(json_of(&events[0])["error"]["type"], "permission_error");
}

fn whole(value: Value) -> LlmResponse {
    let bytes = Bytes::from(value.to_string());
    LlmResponse::json(
        StatusCode::OK,
        HeaderMap::new(),
        bytes,
        value,
        UsageReport::new(),
    )
}

async fn body_of(res: LlmResponse, dialect: Dialect) -> (StatusCode, Value) {
    let http = res.into_http(dialect);
    let status = http.status();
    let bytes = http.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn whole_answers_are_filtered_in_each_dialect() {
    let cases = [
        (
            json!({"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "a secret"}}]}),
            "/choices/0/message/content",
        ),
        (
            json!({"object": "response", "output": [{"type": "message", "content": [{"type": "output_text", "text": "a secret"}]}]}),
            "/output/0/content/0/text",
        ),
        (
            json!({"type": "message", "content": [{"type": "text", "text": "a secret"}, {"type": "tool_use", "input": {"q": "secret"}}]}),
            "/content/0/text",
        ),
    ];
    for (value, path) in cases {
        let mut res = whole(value);
        res.filter_text(mask()).unwrap();
        assert_eq!(res.output().unwrap().pointer(path).unwrap(), "a ******");
        let (status, body) = body_of(res, Dialect::OpenAi).await;
        assert_eq!(status, 200);
        assert_eq!(body.pointer(path).unwrap(), "a ******");
    }
    // Tool arguments are not text: they stay as they are.
    let mut res = whole(
        json!({"type": "message", "content": [{"type": "tool_use", "input": {"q": "secret"}}]}),
    );
    res.filter_text(mask()).unwrap();
    assert_eq!(res.output().unwrap()["content"][0]["input"]["q"], "secret");

    // A block: the client gets the guardrail denial of its dialect.
    let blocked =
        || whole(json!({"type": "message", "content": [{"type": "text", "text": "forbidden"}]}));
    let mut res = blocked();
    res.filter_text(mask()).unwrap();
    let (status, body) = body_of(res, Dialect::Anthropic).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (StatusCode::FORBIDDEN, &json!("permission_error"))
    );
    let mut res = blocked();
    res.filter_text(mask()).unwrap();
    let (status, body) = body_of(res, Dialect::OpenAi).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("guardrail_blocked"))
    );

    // A listing has no text: the filter comes back.
    assert!(
        LlmResponse::models(["a"], "gw")
            .filter_text(mask())
            .is_err()
    );
}

#[tokio::test]
async fn keep_alive_comments_flow_through_the_filter_in_place() {
    // A comment between two deltas and one while text is held back: both reach the client,
    // in order, however the stream is cut.
    let stream = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a sec\"},\"finish_reason\":null}]}\n\n\
: ping\n\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ret\"},\"finish_reason\":\"stop\"}]}\n\n\
: ping 2\n\n\
data: [DONE]\n\n";
    for i in 0..=stream.len() {
        let (body, _) = chunks(&[&stream[..i], &stream[i..]]);
        let mut res = LlmResponse::stream(
            StatusCode::OK,
            HeaderMap::new(),
            LlmBody::stream(body),
            UsageReport::new(),
        );
        res.filter_text(mask()).unwrap();
        let bytes = res
            .into_http(Dialect::OpenAi)
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let mut decoded = Vec::new();
        Decoder::new()
            .feed_with_comments(&bytes, &mut decoded)
            .unwrap();
        let seen: Vec<String> = decoded
            .iter()
            .map(|d| match d {
                Decoded::Comment(c) => format!(":{c}"),
                Decoded::Event(e) if e.data == "[DONE]" => "done".into(),
                Decoded::Event(e) => json_of(e)["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                _ => unreachable!("only events and comments"),
            })
            .collect();
        // "a sec" holds "sec" back (it may start "secret"); the comment is not held with it.
        assert_eq!(
            seen,
            ["a ", ":ping", "******", ":ping 2", "done"],
            "split at {i}"
        );
    }
}
