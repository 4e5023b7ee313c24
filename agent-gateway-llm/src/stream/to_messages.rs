use bytes::BytesMut;
use serde_json::{Value, json};

use agent_gateway_core::sse::Event;

use super::chat_events::{self, ChatEvent};
use super::transform::{Transform, named_event};

/// Chat Completions chunks → Anthropic Messages stream events, for an Anthropic client served
/// by an OpenAI-compatible provider. Every event has its `event:` line: the Anthropic Python
/// SDK skips events without one.
///
/// - the first chunk → `message_start` (input tokens are not known yet: 0);
/// - `delta.content` → a text block: `content_block_start`, then `text_delta`s; a
///   `delta.refusal` likewise, and the stop reason is then `refusal`;
/// - a `tool_calls` fragment with an `id` → a `tool_use` block, its `arguments` pieces →
///   `input_json_delta`s; a new block first closes the open one with `content_block_stop`;
/// - `finish_reason` → the open block is closed and the stop reason kept;
/// - the usage chunk → the usage of `message_delta`, which goes out with the stop reason at
///   `data: [DONE]`, then `message_stop`;
/// - a `data: {"error": ...}` line → `event: error`, and the stream ends.
#[derive(Debug, Clone, Default)]
pub struct ChatToMessages {
    started: bool,
    /// The open block: its Anthropic index, and the OpenAI tool call index if a tool_use.
    open: Option<(u64, Option<u64>)>,
    next_block: u64,
    stop_reason: Option<&'static str>,
    /// Whether the model refused (`delta.refusal`): the stop reason is then `refusal`.
    refused: bool,
    usage: Option<Value>,
    finished: bool,
}

impl ChatToMessages {
    /// A transform.
    pub fn new() -> Self {
        ChatToMessages::default()
    }

    fn start(&mut self, chunk: &Value, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let id = chunk
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("msg_gateway");
        let model = chunk.get("model").cloned().unwrap_or_default();
        named_event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0}}}),
        );
    }

    fn close_block(&mut self, out: &mut BytesMut) {
        if let Some((index, _)) = self.open.take() {
            named_event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    fn open_block(&mut self, out: &mut BytesMut, tool: Option<u64>, block: Value) -> u64 {
        self.close_block(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, tool));
        named_event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        index
    }

    fn delta(out: &mut BytesMut, index: u64, delta: Value) {
        named_event(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    fn text(&mut self, text: &str, out: &mut BytesMut) {
        let index = match self.open {
            Some((index, None)) => index,
            _ => self.open_block(out, None, json!({"type": "text", "text": ""})),
        };
        ChatToMessages::delta(out, index, json!({"type": "text_delta", "text": text}));
    }

    fn tool_fragment(&mut self, fragment: &Value, out: &mut BytesMut) {
        let tool = fragment.get("index").and_then(Value::as_u64).unwrap_or(0);
        let index = match self.open {
            Some((index, Some(open))) if open == tool && fragment.get("id").is_none() => index,
            _ => {
                let id = fragment.get("id").cloned().unwrap_or_default();
                let name = fragment
                    .pointer("/function/name")
                    .cloned()
                    .unwrap_or_default();
                self.open_block(
                    out,
                    Some(tool),
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                )
            }
        };
        if let Some(args) = fragment
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        {
            ChatToMessages::delta(
                out,
                index,
                json!({"type": "input_json_delta", "partial_json": args}),
            );
        }
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.close_block(out);
        let usage = self
            .usage
            .take()
            .unwrap_or_else(|| json!({"output_tokens": 0}));
        named_event(
            out,
            "message_delta",
            &json!({"type": "message_delta",
                "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null},
                "usage": usage}),
        );
        named_event(out, "message_stop", &json!({"type": "message_stop"}));
    }
}

/// OpenAI's `finish_reason` as Anthropic's `stop_reason`.
pub(crate) fn stop_reason(finish: &str) -> &'static str {
    match finish {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

impl ChatToMessages {
    fn chat(&mut self, event: ChatEvent<'_>, out: &mut BytesMut) {
        match event {
            ChatEvent::Start(chunk) => self.start(chunk, out),
            ChatEvent::Usage(u) => {
                self.usage = Some(json!({
                    "input_tokens": u.prompt.saturating_sub(u.cached),
                    "output_tokens": u.completion,
                    "cache_read_input_tokens": u.cached,
                    "cache_creation_input_tokens": 0,
                }));
            }
            ChatEvent::Text(text) => self.text(text, out),
            ChatEvent::Refusal(text) => {
                self.refused = true;
                self.text(text, out);
            }
            ChatEvent::ToolFragment(fragment) => self.tool_fragment(fragment, out),
            ChatEvent::Finish(finish) => {
                self.close_block(out);
                self.stop_reason = Some(if self.refused {
                    "refusal"
                } else {
                    stop_reason(finish)
                });
            }
            ChatEvent::Done => self.close(out),
            ChatEvent::Error(message) => self.error(message, out),
        }
    }
}

impl Transform for ChatToMessages {
    fn event(&mut self, event: &Event, out: &mut BytesMut) {
        if !self.finished {
            chat_events::parse(event, |e| self.chat(e, out));
        }
    }

    fn finish(&mut self, complete: bool, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        // Some OpenAI-compatible servers end without `[DONE]`; a finish reason still proves the
        // answer whole.
        if complete && self.stop_reason.is_some() {
            self.close(out);
        } else {
            self.error("upstream stream ended before its end", out);
        }
    }

    fn error(&mut self, message: &str, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        named_event(
            out,
            "error",
            &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
        );
    }
}
