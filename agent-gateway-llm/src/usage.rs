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
/// cached (cache writes are priced as plain input).
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

/// Accumulates usage from the decoded events of one stream.
#[derive(Debug, Clone)]
pub(crate) struct StreamUsage {
    wire: Wire,
    anthropic: Option<AnthropicUsage>,
    usage: Option<Usage>,
}

impl StreamUsage {
    pub(crate) fn new(wire: Wire) -> Self {
        StreamUsage {
            wire,
            anthropic: None,
            usage: None,
        }
    }

    /// Sees the `data` of one event.
    pub(crate) fn event(&mut self, data: &str) {
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

    /// The usage seen: one step with zero tokens if the stream reported none.
    pub(crate) fn finish(&self) -> Usage {
        match (&self.usage, &self.anthropic) {
            (Some(u), _) => u.clone(),
            (None, Some(a)) => from_anthropic(a),
            (None, None) => Usage::step(),
        }
    }
}
