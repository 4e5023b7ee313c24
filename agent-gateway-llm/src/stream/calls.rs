//! Checks the tool calls of a model's stream as each one's arguments complete, in the client's
//! wire format, without holding back any event.

use std::collections::BTreeMap;

use bytes::BytesMut;
use serde_json::{Value, json};

use agent_gateway_core::content::{ToolCall, ToolCallCheck};
use agent_gateway_core::sse::Event;

use super::errors::{blocked_event, error_event};
use super::transform::Transform;
use crate::usage::Wire;

/// The most argument bytes assembled for one call. Real tool arguments are a few KiB; past
/// this the call's arguments count as unreadable (the check sees no JSON), so a hostile
/// upstream cannot make the gateway hold an argument string without bound.
pub const MAX_CALL_ARGUMENT_BYTES: usize = 1024 * 1024;

/// The most calls assembled at once. Models answer with a handful of parallel calls; the bound
/// only stops an upstream that opens calls without end. Past it, a new call is checked at
/// once with what it has (usually nothing: unreadable arguments).
pub const MAX_OPEN_CALLS: usize = 128;

/// Which call a delta belongs to, in each wire format.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// Chat Completions: a choice's `tool_calls[].index`.
    Chat { choice: u64, index: u64 },
    /// Anthropic: a `tool_use` content block's index.
    Block(u64),
    /// Responses: a `function_call` output item's id.
    Item(String),
}

/// A call whose arguments are still arriving.
#[derive(Debug, Default)]
struct Pending {
    name: String,
    arguments: String,
    /// The arguments the call opened with (Anthropic's `input`), used when no delta follows.
    initial: Option<Value>,
    oversize: bool,
}

impl Pending {
    fn append(&mut self, piece: &str) {
        if self.arguments.len() + piece.len() > MAX_CALL_ARGUMENT_BYTES {
            self.oversize = true;
            self.arguments = String::new();
        }
        if !self.oversize {
            self.arguments.push_str(piece);
        }
    }

    /// The arguments, parsed: no text at all is the opening `input`, or `{}`.
    fn parsed(&self) -> Option<Value> {
        if self.oversize {
            return None;
        }
        if self.arguments.trim().is_empty() {
            return Some(self.initial.clone().unwrap_or_else(|| json!({})));
        }
        serde_json::from_str(&self.arguments).ok()
    }
}

/// A [`Transform`] that assembles the tool-call argument deltas of a stream per call (a Chat
/// Completions `delta.tool_calls[].index`, an Anthropic `tool_use` block's `input_json_delta`s,
/// a Responses `function_call` item's `function_call_arguments.delta`s) and hands each call to
/// a [`ToolCallCheck`] when its arguments are complete: at the choice's `finish_reason`, the
/// block's `content_block_stop`, the item's `function_call_arguments.done`. Every event,
/// text included, passes unchanged and at once; only the event that completes a call waits
/// for its check. A [`Blocked`](agent_gateway_core::content::Blocked) ends the stream there,
/// with the dialect's error event naming the rule and the reason, so the client never sees the
/// call complete; the upstream is not read further. Used with
/// [`SseTransform`](super::SseTransform).
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use agent_gateway_core::content::{Blocked, ToolCall, ToolCallCheck};
/// use agent_gateway_llm::stream::{CheckToolCalls, SseTransform};
///
/// /// Refuses calls whose `path` is `/`.
/// struct NotRoot;
/// impl ToolCallCheck for NotRoot {
///     fn check(&mut self, call: &ToolCall<'_>) -> Result<(), Blocked> {
///         match call.arguments.and_then(|a| a["path"].as_str()) {
///             Some("/") => Err(Blocked::new("not-root")),
///             _ => Ok(()),
///         }
///     }
/// }
///
/// let chunk = |delta: &str, finish: &str| format!(
///     "data: {{\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n");
/// let stream = [
///     chunk(r#"{"tool_calls":[{"index":0,"id":"c1","function":{"name":"rm","arguments":"{\"path\":"}}]}"#, "null"),
///     chunk(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"/\"}"}}]}"#, "null"),
///     chunk("{}", "\"tool_calls\""),
/// ].concat();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let body = SseTransform::new(Full::new(Bytes::from(stream)), CheckToolCalls::new(Box::new(NotRoot)));
/// let out = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
/// // The argument deltas went out; the finishing chunk did not: the error event did.
/// assert_eq!(out.matches("tool_calls").count(), 2);
/// assert!(out.ends_with("\"code\":\"guardrail_blocked\",\"message\":\"blocked by guardrail (rule not-root)\",\"param\":null,\"type\":\"invalid_request_error\"}}\n\n"));
/// # });
/// ```
pub struct CheckToolCalls {
    check: Box<dyn ToolCallCheck>,
    wire: Option<Wire>,
    open: BTreeMap<Key, Pending>,
    blocked: bool,
}

impl std::fmt::Debug for CheckToolCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckToolCalls")
            .field("wire", &self.wire)
            .field("open", &self.open.len())
            .field("blocked", &self.blocked)
            .finish_non_exhaustive()
    }
}

fn pass(out: &mut BytesMut, ev: &Event) {
    if let Err(e) = ev.encode_into(out) {
        tracing::warn!(error = %e, "llm tool-call check: cannot encode event");
    }
}

fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

impl CheckToolCalls {
    /// Checks the tool calls of a stream with `check`.
    pub fn new(check: Box<dyn ToolCallCheck>) -> Self {
        CheckToolCalls {
            check,
            wire: None,
            open: BTreeMap::new(),
            blocked: false,
        }
    }

    /// The call `key`, opened if new (when the table is full, the oldest is checked first).
    fn entry(&mut self, key: Key, out: &mut BytesMut) -> Option<&mut Pending> {
        if !self.open.contains_key(&key)
            && self.open.len() >= MAX_OPEN_CALLS
            && let Some((_, oldest)) = self.open.pop_first()
            && !self.run(&oldest, out)
        {
            return None;
        }
        Some(self.open.entry(key).or_default())
    }

    /// Checks one complete call; `false` when it blocked (the error event is out).
    fn run(&mut self, call: &Pending, out: &mut BytesMut) -> bool {
        let arguments = call.parsed();
        let call = ToolCall {
            name: &call.name,
            arguments: arguments.as_ref(),
        };
        match self.check.check(&call) {
            Ok(()) => true,
            Err(blocked) => {
                self.blocked = true;
                self.open.clear();
                blocked_event(self.wire.unwrap_or(Wire::ChatCompletions), &blocked, out);
                false
            }
        }
    }

    /// Checks, in order, the open calls `done` selects; `false` when one blocked.
    fn complete(&mut self, done: impl Fn(&Key) -> bool, out: &mut BytesMut) -> bool {
        let keys: Vec<Key> = self.open.keys().filter(|k| done(k)).cloned().collect();
        for key in keys {
            if let Some(call) = self.open.remove(&key)
                && !self.run(&call, out)
            {
                return false;
            }
        }
        true
    }

    /// A Chat Completions chunk; `false` when a check blocked.
    fn chat(&mut self, v: &Value, out: &mut BytesMut) -> bool {
        self.wire = Some(Wire::ChatCompletions);
        for choice in v["choices"].as_array().into_iter().flatten() {
            let choice_index = u64_at(choice, "index");
            let calls = choice
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array);
            for call in calls.into_iter().flatten() {
                let key = Key::Chat {
                    choice: choice_index,
                    index: u64_at(call, "index"),
                };
                let Some(pending) = self.entry(key, out) else {
                    return false;
                };
                if let Some(name) = str_at(call, "/function/name") {
                    pending.name.push_str(name);
                }
                if let Some(piece) = str_at(call, "/function/arguments") {
                    pending.append(piece);
                }
            }
            let ends = choice.get("finish_reason").is_some_and(|f| !f.is_null());
            if ends
                && !self.complete(
                    |k| matches!(k, Key::Chat { choice, .. } if *choice == choice_index),
                    out,
                )
            {
                return false;
            }
        }
        true
    }

    /// An Anthropic event; `false` when a check blocked.
    fn messages(&mut self, kind: &str, v: &Value, out: &mut BytesMut) -> bool {
        self.wire = Some(Wire::Messages);
        let index = u64_at(v, "index");
        match kind {
            "content_block_start" if str_at(v, "/content_block/type") == Some("tool_use") => {
                let Some(pending) = self.entry(Key::Block(index), out) else {
                    return false;
                };
                pending.name = str_at(v, "/content_block/name").unwrap_or("").to_owned();
                pending.initial = v.pointer("/content_block/input").cloned();
                true
            }
            "content_block_delta" if str_at(v, "/delta/type") == Some("input_json_delta") => {
                if let Some(pending) = self.open.get_mut(&Key::Block(index)) {
                    pending.append(str_at(v, "/delta/partial_json").unwrap_or(""));
                }
                true
            }
            "content_block_stop" => self.complete(|k| *k == Key::Block(index), out),
            "message_delta" | "message_stop" => self.complete(|_| true, out),
            _ => true,
        }
    }

    /// A Responses event; `false` when a check blocked.
    fn responses(&mut self, kind: &str, v: &Value, out: &mut BytesMut) -> bool {
        self.wire = Some(Wire::Responses);
        let item_id = |v: &Value, p: &str| str_at(v, p).unwrap_or("").to_owned();
        match kind {
            "response.output_item.added" if str_at(v, "/item/type") == Some("function_call") => {
                let key = Key::Item(item_id(v, "/item/id"));
                let Some(pending) = self.entry(key, out) else {
                    return false;
                };
                pending.name = str_at(v, "/item/name").unwrap_or("").to_owned();
                pending.append(str_at(v, "/item/arguments").unwrap_or(""));
                true
            }
            "response.function_call_arguments.delta" => {
                let key = Key::Item(item_id(v, "/item_id"));
                let Some(pending) = self.entry(key, out) else {
                    return false;
                };
                pending.append(str_at(v, "/delta").unwrap_or(""));
                true
            }
            "response.function_call_arguments.done" => {
                let key = Key::Item(item_id(v, "/item_id"));
                let mut call = self.open.remove(&key).unwrap_or_default();
                if let Some(whole) = str_at(v, "/arguments") {
                    call.oversize = false;
                    call.arguments = String::new();
                    call.append(whole);
                }
                if let Some(name) = str_at(v, "/name") {
                    name.clone_into(&mut call.name);
                }
                self.run(&call, out)
            }
            "response.output_item.done" if str_at(v, "/item/type") == Some("function_call") => {
                // A call whose `…arguments.done` did not come: its item is whole here.
                let key = Key::Item(item_id(v, "/item/id"));
                match self.open.remove(&key) {
                    Some(mut call) => {
                        call.oversize = false;
                        call.arguments = String::new();
                        call.append(str_at(v, "/item/arguments").unwrap_or(""));
                        self.run(&call, out)
                    }
                    None => true,
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.complete(|_| true, out)
            }
            _ => true,
        }
    }
}

impl Transform for CheckToolCalls {
    fn event(&mut self, ev: &Event, out: &mut BytesMut) {
        if self.blocked {
            return;
        }
        if ev.data.trim() == "[DONE]" {
            self.wire = Some(Wire::ChatCompletions);
            if self.complete(|_| true, out) {
                pass(out, ev);
            }
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return pass(out, ev);
        };
        let go_on = if v.get("choices").is_some_and(Value::is_array) {
            self.chat(&v, out)
        } else {
            match v.get("type").and_then(Value::as_str).unwrap_or("") {
                kind if kind.starts_with("content_block_") || kind.starts_with("message_") => {
                    self.messages(kind, &v, out)
                }
                kind if kind.starts_with("response.") => self.responses(kind, &v, out),
                _ => true,
            }
        };
        if go_on {
            pass(out, ev);
        }
    }

    fn finish(&mut self, complete: bool, out: &mut BytesMut) {
        // A stream cut short leaves its open calls unfinished: they were never made, and the
        // client sees no end of stream; only a whole stream's leftovers are checked.
        if complete && !self.blocked {
            self.complete(|_| true, out);
        }
        self.open.clear();
    }

    fn error(&mut self, message: &str, out: &mut BytesMut) {
        if !self.blocked {
            self.open.clear();
            error_event(self.wire.unwrap_or(Wire::ChatCompletions), message, out);
        }
    }

    fn ended(&self) -> bool {
        self.blocked
    }
}
