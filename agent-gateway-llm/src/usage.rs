//! Usage from response bodies and from the events of streams, in each wire format.
//!
//! ```
//! use agent_gateway_llm::usage::{Wire, usage_from_body};
//! use serde_json::json;
//!
//! let body = json!({"id": "msg", "usage": {"input_tokens": 10, "output_tokens": 4,
//!                   "cache_read_input_tokens": 6}});
//! let usage = usage_from_body(Wire::Messages, &body).unwrap();
//! // Anthropic counts cache reads apart; core counts them inside the input.
//! assert_eq!((usage.input_tokens, usage.cached_input_tokens, usage.output_tokens), (16, 6, 4));
//! assert!(usage_from_body(Wire::ChatCompletions, &json!({"id": "x"})).is_none());
//! ```

use serde::Deserialize;
use serde_json::Value;

use agent_gateway_core::Usage;

use crate::types::{AnthropicUsage, ChatUsage, MessagesStreamEvent, ResponsesUsage};

/// The wire format of a provider's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Wire {
    /// OpenAI Chat Completions.
    ChatCompletions,
    /// OpenAI Responses.
    Responses,
    /// Anthropic Messages.
    Messages,
}

/// Converts OpenAI chat usage.
pub fn from_chat(u: &ChatUsage) -> Usage {
    let cached = u
        .prompt_tokens_details
        .as_ref()
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    Usage::tokens(u.prompt_tokens, u.completion_tokens).with_cached_input(cached)
}

/// Converts Responses usage.
pub fn from_responses(u: &ResponsesUsage) -> Usage {
    let cached = u
        .input_tokens_details
        .as_ref()
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    Usage::tokens(u.input_tokens, u.output_tokens).with_cached_input(cached)
}

/// Converts Anthropic usage: cache writes and reads are added to the input, reads counted as
/// cached. Cache writes are billed apart: [`cache_writes_from_body`] and
/// [`Price::cost_with_cache_writes`](crate::Price::cost_with_cache_writes) price them.
pub fn from_anthropic(u: &AnthropicUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let written = u.cache_creation_input_tokens.unwrap_or(0);
    Usage::tokens(
        u.input_tokens.saturating_add(read).saturating_add(written),
        u.output_tokens,
    )
    .with_cached_input(read)
}

/// The usage in a whole (non-streamed) answer, if it reports one.
pub fn usage_from_body(wire: Wire, body: &Value) -> Option<Usage> {
    let usage = body.get("usage").filter(|u| u.is_object())?;
    match wire {
        Wire::ChatCompletions => ChatUsage::deserialize(usage).ok().map(|u| from_chat(&u)),
        Wire::Responses => ResponsesUsage::deserialize(usage)
            .ok()
            .map(|u| from_responses(&u)),
        Wire::Messages => AnthropicUsage::deserialize(usage)
            .ok()
            .map(|u| from_anthropic(&u)),
    }
}

/// The input tokens a whole answer reports written to the prompt cache: Anthropic's
/// `cache_creation_input_tokens`; 0 for the OpenAI formats, which do not bill writes apart.
pub fn cache_writes_from_body(wire: Wire, body: &Value) -> u64 {
    match wire {
        Wire::Messages => body
            .pointer("/usage/cache_creation_input_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        Wire::ChatCompletions | Wire::Responses => 0,
    }
}

/// The usage of a whole answer, priced at `price` (cache writes at their own price); one
/// step if the answer reports none.
pub(crate) fn priced_from_body(wire: Wire, body: &Value, price: &crate::Price) -> Usage {
    let usage = usage_from_body(wire, body).unwrap_or_else(Usage::step);
    price.apply_with_cache_writes(usage, cache_writes_from_body(wire, body))
}

/// Accumulates usage from the decoded events of one stream, and counts its output as it goes,
/// so that a stream cut before its usage arrives is still charged (finding 5).
#[derive(Debug, Clone)]
pub(crate) struct StreamUsage {
    wire: Wire,
    anthropic: Option<AnthropicUsage>,
    /// Whether Anthropic's final `message_delta` (its complete output count) was seen.
    anthropic_done: bool,
    usage: Option<Usage>,
    /// The request's input estimate, charged when the stream never reported its input.
    input_estimate: u64,
    /// Output deltas seen (non-empty ones), and the bytes of text they carried.
    output_events: u64,
    output_bytes: u64,
}

impl StreamUsage {
    pub(crate) fn new(wire: Wire) -> Self {
        StreamUsage {
            wire,
            anthropic: None,
            anthropic_done: false,
            usage: None,
            input_estimate: 0,
            output_events: 0,
            output_bytes: 0,
        }
    }

    /// Charges `tokens` of input when the stream ends without saying how many it used.
    pub(crate) fn with_input_estimate(mut self, tokens: u64) -> Self {
        self.input_estimate = tokens;
        self
    }

    /// Sees the `data` of one event.
    pub(crate) fn event(&mut self, data: &str) {
        if data.contains("delta") {
            self.count_output(data);
        }
        match self.wire {
            Wire::ChatCompletions => {
                // Only the usage chunk has a non-null `usage`; skip the parse for the rest.
                if !data.contains("\"usage\"") {
                    return;
                }
                #[derive(Deserialize)]
                struct Chunk {
                    usage: Option<ChatUsage>,
                }
                if let Ok(Chunk { usage: Some(u) }) = serde_json::from_str(data) {
                    self.usage = Some(from_chat(&u));
                }
            }
            Wire::Responses => {
                if !data.contains("\"usage\"") {
                    return;
                }
                #[derive(Deserialize)]
                struct Done {
                    response: Option<DoneResponse>,
                }
                #[derive(Deserialize)]
                struct DoneResponse {
                    usage: Option<ResponsesUsage>,
                }
                if let Ok(Done {
                    response: Some(DoneResponse { usage: Some(u) }),
                }) = serde_json::from_str(data)
                {
                    self.usage = Some(from_responses(&u));
                }
            }
            Wire::Messages => match serde_json::from_str::<MessagesStreamEvent>(data) {
                Ok(MessagesStreamEvent::MessageStart { message }) => {
                    self.anthropic = Some(message.usage);
                }
                Ok(MessagesStreamEvent::MessageDelta { usage, .. }) => {
                    self.anthropic_done = true;
                    let acc = self.anthropic.get_or_insert_with(AnthropicUsage::default);
                    acc.output_tokens = usage.output_tokens;
                    if usage.input_tokens > 0 {
                        acc.input_tokens = usage.input_tokens;
                    }
                    if usage.cache_read_input_tokens.is_some() {
                        acc.cache_read_input_tokens = usage.cache_read_input_tokens;
                    }
                    if usage.cache_creation_input_tokens.is_some() {
                        acc.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                    }
                }
                _ => {}
            },
        }
    }

    /// Counts the text an output delta carries: chat's `choices[].delta` (content, reasoning,
    /// tool arguments), Anthropic's `content_block_delta`, the Responses `*.delta` events.
    fn count_output(&mut self, data: &str) {
        let Ok(value) = serde_json::from_str::<Value>(data) else {
            return;
        };
        let bytes = match self.wire {
            Wire::ChatCompletions => {
                value
                    .get("choices")
                    .and_then(Value::as_array)
                    .map_or(0, |choices| {
                        choices
                            .iter()
                            .filter_map(|c| c.get("delta"))
                            .map(text_len)
                            .sum()
                    })
            }
            Wire::Messages | Wire::Responses => value.get("delta").map_or(0, text_len),
        };
        if bytes > 0 {
            self.output_events += 1;
            self.output_bytes = self.output_bytes.saturating_add(bytes);
        }
    }

    /// The output counted so far, in tokens: at least one per non-empty delta, and at least
    /// the text's estimate (a token per 4 bytes, as for the input).
    fn counted_output(&self) -> u64 {
        self.output_events.max(self.output_bytes.div_ceil(4))
    }

    /// The input tokens the stream reported written to the prompt cache (Anthropic's).
    pub(crate) fn cache_writes(&self) -> u64 {
        self.anthropic
            .as_ref()
            .and_then(|a| a.cache_creation_input_tokens)
            .unwrap_or(0)
    }

    /// The usage seen, when the stream reported it whole. Otherwise (cut short, or a provider
    /// that never reports usage) a floor: the input reported, else the request's estimate, and
    /// the output reported so far or counted from the deltas, whichever is larger.
    pub(crate) fn finish(&self) -> Usage {
        match (&self.usage, &self.anthropic) {
            (Some(u), _) => u.clone(),
            (None, Some(a)) if self.anthropic_done => from_anthropic(a),
            (None, Some(a)) => {
                let mut a = a.clone();
                if a.input_tokens == 0 {
                    a.input_tokens = self.input_estimate;
                }
                a.output_tokens = a.output_tokens.max(self.counted_output());
                from_anthropic(&a)
            }
            (None, None) => {
                let (input, output) = (self.input_estimate, self.counted_output());
                if input == 0 && output == 0 {
                    Usage::step()
                } else {
                    Usage::tokens(input, output)
                }
            }
        }
    }
}

/// The bytes of every string inside `value` (a delta's text, arguments, thinking).
fn text_len(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.len() as u64,
        Value::Array(items) => items.iter().map(text_len).sum(),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "type" | "role" | "index" | "id"))
            .map(|(_, v)| text_len(v))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(wire: Wire, events: &[&str]) -> Usage {
        let mut usage = StreamUsage::new(wire).with_input_estimate(40);
        for e in events {
            usage.event(e);
        }
        usage.finish()
    }

    /// Finding 5: a stream cut before its usage is charged the input estimate plus the output
    /// counted from its deltas; one that reported its usage is charged exactly that.
    #[test]
    fn a_stream_cut_short_is_charged_a_floor() {
        let chat_delta = r#"{"choices":[{"index":0,"delta":{"content":"twelve bytes"}}]}"#;
        let chat_tool = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}"#;
        let usage = fed(Wire::ChatCompletions, &[chat_delta, chat_delta, chat_tool]);
        // 3 deltas, 31 bytes: max(3, 8).
        assert_eq!((usage.input_tokens, usage.output_tokens), (40, 8));
        let usage_chunk = r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#;
        let usage = fed(Wire::ChatCompletions, &[chat_delta, usage_chunk]);
        assert_eq!((usage.input_tokens, usage.output_tokens), (7, 2));

        let start = r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"c","usage":{"input_tokens":25,"output_tokens":1}}}"#;
        let delta =
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#;
        let usage = fed(Wire::Messages, &[start, delta, delta, delta]);
        assert_eq!((usage.input_tokens, usage.output_tokens), (25, 3));
        let end = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}"#;
        let usage = fed(Wire::Messages, &[start, delta, delta, delta, end]);
        assert_eq!((usage.input_tokens, usage.output_tokens), (25, 2));

        let text = r#"{"type":"response.output_text.delta","item_id":"x","output_index":0,"content_index":0,"delta":"0123456789abcdef"}"#;
        let usage = fed(Wire::Responses, &[text]);
        assert_eq!((usage.input_tokens, usage.output_tokens), (40, 4));

        // Nothing at all, and no estimate: one step, as before.
        assert_eq!(StreamUsage::new(Wire::Responses).finish(), Usage::step());
    }
}
