//! Applies a guardrail's [`TextFilter`] to the text of a stream in the client's wire format,
//! rewriting each event as it passes.

use std::collections::HashMap;

use bytes::BytesMut;
use serde_json::{Map, Value, json};

use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::sse::Event;

mod responses;

use super::errors::{blocked_event, error_event};
use super::transform::Transform;
use crate::usage::Wire;

/// Which text the filter is in the middle of: the held tail belongs to it.
#[derive(Debug)]
enum Open {
    /// A Chat Completions choice.
    Chat(u64),
    /// An Anthropic content block.
    Messages(u64),
    /// A Responses output text, by item id and content index, with the delta event whose
    /// shape a late piece of it is sent in.
    Responses { key: (String, u64), template: Value },
}

/// A [`Transform`] that passes the text of a stream (a Chat Completions `delta.content`, a
/// Responses `response.output_text.delta`, an Anthropic `text_delta`) through a
/// [`TextFilter`] and sends each event on with the text the filter releases, in the same
/// dialect; every other event passes unchanged. Used with [`SseTransform`](super::SseTransform).
///
/// The dialect is read from the events themselves. A filter holds back a few bytes that a match
/// could still span; they go out in the next event of the same text, or, when the text ends
/// (a choice's `finish_reason`, a `content_block_stop`, a `response.output_text.done`, the end of
/// the stream), in one extra text event of that text placed just before. The events of a
/// Responses stream that repeat the whole text (`…done`, `response.completed`) carry the text as
/// the client received it, and the `sequence_number`s after an extra event are shifted so that
/// they still count up by one. A [`Blocked`](agent_gateway_core::content::Blocked) ends the
/// stream with the dialect's error event (code `guardrail_blocked`, the message naming the rule);
/// the upstream is not read further.
/// SSE comments (keep-alives) are relayed as they come, never held back with the text.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use agent_gateway_core::content::{Blocked, TextFilter};
/// use agent_gateway_llm::stream::{FilterText, SseTransform};
///
/// /// Upper-cases the text (a stand-in for a redacting guardrail).
/// struct Upper;
/// impl TextFilter for Upper {
///     fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
///         out.push_str(&text.to_uppercase());
///         Ok(())
///     }
///     fn finish(&mut self, _: &mut String) -> Result<(), Blocked> { Ok(()) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let chat = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\ndata: [DONE]\n\n";
/// let body = SseTransform::new(Full::new(Bytes::from(chat)), FilterText::new(Box::new(Upper)));
/// let out = body.collect().await.unwrap().to_bytes();
/// assert_eq!(out, "data: {\"choices\":[{\"delta\":{\"content\":\"HI\"},\"finish_reason\":null,\"index\":0}],\"id\":\"c\"}\n\ndata: [DONE]\n\n");
/// # });
/// ```
pub struct FilterText {
    filter: Box<dyn TextFilter>,
    wire: Option<Wire>,
    open: Option<Open>,
    /// Chat: the last chunk's envelope (id, model, …), for a chunk that carries held text.
    envelope: Map<String, Value>,
    /// Responses: the text released so far per (item id, content index), for the events that
    /// repeat the whole text.
    texts: HashMap<(String, u64), String>,
    /// Responses: the last `sequence_number` sent, and how many extra events were inserted
    /// (what every later upstream number is shifted by).
    last_seq: Option<u64>,
    shift: u64,
    blocked: bool,
}

impl std::fmt::Debug for FilterText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterText")
            .field("wire", &self.wire)
            .field("blocked", &self.blocked)
            .finish_non_exhaustive()
    }
}

/// Appends `ev` with `data` in place of its own data.
fn emit(out: &mut BytesMut, ev: &Event, data: &Value) {
    let ev = Event {
        data: data.to_string(),
        ..ev.clone()
    };
    if let Err(e) = ev.encode_into(out) {
        tracing::warn!(error = %e, "llm stream filter: cannot encode event");
    }
}

fn pass(out: &mut BytesMut, ev: &Event) {
    if let Err(e) = ev.encode_into(out) {
        tracing::warn!(error = %e, "llm stream filter: cannot encode event");
    }
}

fn named(name: &str, data: &Value) -> Event {
    Event::new(data.to_string()).with_event(name)
}

impl FilterText {
    /// Filters the text of a stream with `filter`.
    pub fn new(filter: Box<dyn TextFilter>) -> Self {
        FilterText {
            filter,
            wire: None,
            open: None,
            envelope: Map::new(),
            texts: HashMap::new(),
            last_seq: None,
            shift: 0,
            blocked: false,
        }
    }

    /// Ends the stream with the dialect's guardrail error event.
    fn block(&mut self, blocked: &Blocked, out: &mut BytesMut) {
        self.blocked = true;
        self.open = None;
        blocked_event(self.wire.unwrap_or(Wire::ChatCompletions), blocked, out);
    }

    /// Pushes `text`; `None` when the filter blocked (the error event is out).
    fn push(&mut self, text: &str, out: &mut BytesMut) -> Option<String> {
        let mut released = String::new();
        match self.filter.push(text, &mut released) {
            Ok(()) => Some(released),
            Err(blocked) => {
                self.block(&blocked, out);
                None
            }
        }
    }

    /// Ends the open text: sends what the filter still held, in one event of that text.
    /// `false` when the filter blocked.
    fn flush(&mut self, out: &mut BytesMut) -> bool {
        let Some(open) = self.open.take() else {
            return true;
        };
        let mut tail = String::new();
        if let Err(blocked) = self.filter.finish(&mut tail) {
            self.block(&blocked, out);
            return false;
        }
        if tail.is_empty() {
            return true;
        }
        match open {
            Open::Chat(index) => {
                let mut chunk = self.envelope.clone();
                chunk.insert(
                    "choices".into(),
                    json!([{"index": index, "delta": {"content": tail}, "finish_reason": null}]),
                );
                pass(out, &Event::new(Value::Object(chunk).to_string()));
            }
            Open::Messages(index) => {
                let data = json!({"type": "content_block_delta", "index": index,
                                  "delta": {"type": "text_delta", "text": tail}});
                pass(out, &named("content_block_delta", &data));
            }
            Open::Responses { key, mut template } => {
                template["delta"] = Value::String(tail.clone());
                if let Some(last) = self.last_seq {
                    // An extra event: numbered after the last one sent, the rest shifted.
                    template["sequence_number"] = json!(last + 1);
                    self.last_seq = Some(last + 1);
                    self.shift += 1;
                }
                self.texts.entry(key).or_default().push_str(&tail);
                pass(out, &named("response.output_text.delta", &template));
            }
        }
        true
    }

    /// The whole of a text the stream did not send in pieces, filtered.
    fn whole(&mut self, text: &str, out: &mut BytesMut) -> Option<String> {
        let mut released = self.push(text, out)?;
        if let Err(blocked) = self.filter.finish(&mut released) {
            self.block(&blocked, out);
            return None;
        }
        Some(released)
    }

    fn chat(&mut self, ev: &Event, mut v: Value, out: &mut BytesMut) {
        self.wire = Some(Wire::ChatCompletions);
        if let Some(obj) = v.as_object() {
            self.envelope = obj
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "choices" | "usage"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        let Some(choices) = v.get_mut("choices").and_then(Value::as_array_mut) else {
            return pass(out, ev);
        };
        for choice in choices.iter_mut() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let text = choice
                .pointer("/delta/content")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let ends = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            if matches!(self.open, Some(Open::Chat(o)) if o != index)
                && (text.is_some() || ends)
                && !self.flush(out)
            {
                return;
            }
            if let Some(text) = text {
                let Some(released) = self.push(&text, out) else {
                    return;
                };
                choice["delta"]["content"] = Value::String(released);
                self.open = Some(Open::Chat(index));
            }
            if ends && matches!(self.open, Some(Open::Chat(o)) if o == index) {
                self.open = None;
                let mut tail = String::new();
                if let Err(blocked) = self.filter.finish(&mut tail) {
                    return self.block(&blocked, out);
                }
                if !tail.is_empty() {
                    if !choice.get("delta").is_some_and(Value::is_object) {
                        choice["delta"] = json!({});
                    }
                    let before = choice["delta"]["content"].as_str().unwrap_or("").to_owned();
                    choice["delta"]["content"] = Value::String(before + &tail);
                }
            }
        }
        emit(out, ev, &v);
    }

    fn messages(&mut self, ev: &Event, kind: &str, mut v: Value, out: &mut BytesMut) {
        self.wire = Some(Wire::Messages);
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let other_open = matches!(self.open, Some(Open::Messages(o)) if o != index);
        let text_path = match kind {
            "content_block_delta"
                if v.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta") =>
            {
                Some("/delta/text")
            }
            "content_block_start"
                if v.pointer("/content_block/type").and_then(Value::as_str) == Some("text") =>
            {
                Some("/content_block/text")
            }
            "content_block_stop" if !other_open => {
                if !self.flush(out) {
                    return;
                }
                None
            }
            "message_delta" | "message_stop" => {
                if !self.flush(out) {
                    return;
                }
                None
            }
            _ => None,
        };
        if let Some(path) = text_path
            && let Some(text) = v.pointer(path).and_then(Value::as_str).map(str::to_owned)
            && !(text.is_empty() && kind == "content_block_start")
        {
            if other_open && !self.flush(out) {
                return;
            }
            let Some(released) = self.push(&text, out) else {
                return;
            };
            if let Some(slot) = v.pointer_mut(path) {
                *slot = Value::String(released);
            }
            self.open = Some(Open::Messages(index));
        }
        emit(out, ev, &v);
    }
}

impl Transform for FilterText {
    fn event(&mut self, ev: &Event, out: &mut BytesMut) {
        if self.blocked {
            return;
        }
        if ev.data.trim() == "[DONE]" {
            self.wire = Some(Wire::ChatCompletions);
            if self.flush(out) {
                pass(out, ev);
            }
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return pass(out, ev);
        };
        if v.get("choices").is_some_and(Value::is_array) {
            return self.chat(ev, v, out);
        }
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match kind.as_str() {
            "message_start"
            | "content_block_start"
            | "content_block_delta"
            | "content_block_stop"
            | "message_delta"
            | "message_stop" => self.messages(ev, &kind, v, out),
            k if k.starts_with("response.") => self.responses(ev, &kind, v, out),
            _ => pass(out, ev),
        }
    }

    fn finish(&mut self, _complete: bool, out: &mut BytesMut) {
        if !self.blocked {
            self.flush(out);
        }
    }

    fn error(&mut self, message: &str, out: &mut BytesMut) {
        if self.blocked {
            return;
        }
        if self.flush(out) {
            error_event(self.wire.unwrap_or(Wire::ChatCompletions), message, out);
        }
    }

    fn ended(&self) -> bool {
        self.blocked
    }
}
