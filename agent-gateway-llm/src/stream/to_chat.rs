use std::collections::HashMap;

use bytes::BytesMut;
use serde_json::{Value, json};

use agent_gateway_core::sse::Event;

use super::transform::{Transform, data_line};

/// Anthropic Messages stream events → Chat Completions chunks, for an OpenAI client served
/// by an Anthropic provider.
///
/// - `message_start` → the first chunk, `delta: {role: "assistant", content: ""}`;
/// - `text_delta` → `delta.content`; `thinking_delta` → `delta.reasoning_content` (the field
///   OpenAI-compatible servers use for reasoning); a `tool_use` block → a `tool_calls` fragment with
///   `index`, `id`, `type` and `function.name`, then its `input_json_delta`s → fragments of
///   `function.arguments`;
/// - `message_delta.stop_reason` → `finish_reason` on an empty delta;
/// - `message_stop` → the usage chunk (`choices: []`) when the client asked for
///   `stream_options.include_usage`, then `data: [DONE]`;
/// - an `error` event → a `data: {"error": {...}}` line, and the stream ends.
#[derive(Debug, Clone)]
pub struct MessagesToChat {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    /// Anthropic block index → OpenAI tool call index.
    tools: HashMap<u64, u64>,
    input_tokens: u64,
    cache_read: u64,
    cache_written: u64,
    output_tokens: u64,
    finished: bool,
}

impl MessagesToChat {
    /// A transform; `include_usage` is whether the client asked for the usage chunk.
    pub fn new(include_usage: bool) -> Self {
        MessagesToChat {
            include_usage,
            id: "chatcmpl-gateway".to_owned(),
            model: String::new(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            tools: HashMap::new(),
            input_tokens: 0,
            cache_read: 0,
            cache_written: 0,
            output_tokens: 0,
            finished: false,
        }
    }

    fn chunk(&self, out: &mut BytesMut, delta: Value, finish: Value) {
        let mut c = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        data_line(out, &c);
    }

    fn usage(&mut self, usage: Option<&Value>) {
        let Some(u) = usage else { return };
        let n = |k: &str| u.get(k).and_then(Value::as_u64);
        if let Some(v) = n("input_tokens").filter(|v| *v > 0) {
            self.input_tokens = v;
        }
        if let Some(v) = n("cache_read_input_tokens") {
            self.cache_read = v;
        }
        if let Some(v) = n("cache_creation_input_tokens") {
            self.cache_written = v;
        }
        if let Some(v) = n("output_tokens") {
            self.output_tokens = v;
        }
    }

    fn close(&mut self, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.include_usage {
            let prompt = self.input_tokens + self.cache_read + self.cache_written;
            data_line(
                out,
                &json!({
                    "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                    "model": self.model, "choices": [],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": self.output_tokens,
                              "total_tokens": prompt + self.output_tokens,
                              "prompt_tokens_details": {"cached_tokens": self.cache_read}}
                }),
            );
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

/// Anthropic's `stop_reason` as OpenAI's `finish_reason`.
pub(crate) fn finish_reason(stop: &str) -> &'static str {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

impl Transform for MessagesToChat {
    fn event(&mut self, event: &Event, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&event.data) else {
            return;
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(event.event_type());
        match kind {
            "message_start" => {
                let m = v.get("message").unwrap_or(&Value::Null);
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    self.id = id.to_owned();
                }
                if let Some(model) = m.get("model").and_then(Value::as_str) {
                    self.model = model.to_owned();
                }
                self.usage(m.get("usage"));
                self.chunk(
                    out,
                    json!({"role": "assistant", "content": ""}),
                    Value::Null,
                );
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                    return;
                }
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let n = self.tools.len() as u64;
                self.tools.insert(index, n);
                self.chunk(
                    out,
                    json!({"tool_calls": [{"index": n, "id": block.get("id"), "type": "function",
                        "function": {"name": block.get("name"), "arguments": ""}}]}),
                    Value::Null,
                );
            }
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let text = d.get("text").cloned().unwrap_or_default();
                        self.chunk(out, json!({"content": text}), Value::Null);
                    }
                    Some("input_json_delta") => {
                        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let Some(n) = self.tools.get(&index).copied() else {
                            return;
                        };
                        let piece = d.get("partial_json").cloned().unwrap_or_default();
                        self.chunk(
                            out,
                            json!({"tool_calls": [{"index": n, "function": {"arguments": piece}}]}),
                            Value::Null,
                        );
                    }
                    Some("thinking_delta") => {
                        let text = d.get("thinking").cloned().unwrap_or_default();
                        self.chunk(out, json!({"reasoning_content": text}), Value::Null);
                    }
                    // Signatures only prove the thinking to Anthropic; citations cannot arise
                    // (a chat request cannot enable them through the translation).
                    _ => {}
                }
            }
            "message_delta" => {
                self.usage(v.get("usage"));
                if let Some(stop) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.chunk(out, json!({}), Value::from(finish_reason(stop)));
                }
            }
            "message_stop" => self.close(out),
            "error" => {
                let e = v.get("error").unwrap_or(&Value::Null);
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error");
                // Anthropic's generic `api_error` is OpenAI's `server_error`; the others keep their
                // name, which OpenAI clients show as it is.
                let kind = match e.get("type").and_then(Value::as_str) {
                    None | Some("api_error") => "server_error",
                    Some(kind) => kind,
                };
                self.finished = true;
                data_line(
                    out,
                    &json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
                );
            }
            _ => {} // ping, content_block_stop
        }
    }

    fn finish(&mut self, _complete: bool, out: &mut BytesMut) {
        // Anthropic always ends with message_stop: a stream without one was cut.
        if !self.finished {
            self.error("upstream stream ended before message_stop", out);
        }
    }

    fn error(&mut self, message: &str, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        data_line(
            out,
            &json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}}),
        );
    }
}
