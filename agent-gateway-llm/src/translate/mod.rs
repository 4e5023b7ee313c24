//! Translation between Chat Completions and Anthropic Messages, so that a client of either
//! dialect can use a model served by a provider of the other, and from Responses to Chat
//! Completions for providers without the Responses API (and on to Messages). Streams are
//! translated event by event by [`crate::stream::SseTransform`].
//!
//! No request is answered as if a field it set had been honoured: every top-level field, and
//! every content part, is translated, known to change nothing in the answer, or refused with
//! an [`InvalidRequest`](crate::error::InvalidRequest) naming it (a 400 in the client's
//! dialect; the provider is not called).
//!
//! ```
//! use agent_gateway_llm::translate::{
//!     chat_request_to_messages, messages_request_to_chat, messages_response_to_chat,
//!     responses_request_to_chat,
//! };
//! use serde_json::json;
//!
//! let chat = json!({"model": "m", "max_tokens": 50, "messages": [
//!     {"role": "system", "content": "Be brief."},
//!     {"role": "user", "content": "Weather?"}
//! ], "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]});
//! let messages = chat_request_to_messages(&chat).unwrap();
//! assert_eq!(messages["system"], "Be brief.");
//! assert_eq!(messages["max_tokens"], 50);
//! assert_eq!(messages["tools"][0]["input_schema"]["type"], "object");
//!
//! let answer = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
//!     "content": [{"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}}],
//!     "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 2}});
//! let completion = messages_response_to_chat(&answer).unwrap();
//! assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
//! assert_eq!(completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
//!
//! // A chat request that is not one is refused.
//! assert!(chat_request_to_messages(&json!({"model": "m"})).is_err());
//!
//! // What Anthropic cannot express is refused, naming the field, never dropped: two choices…
//! let two = json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "hi"}]});
//! assert_eq!(chat_request_to_messages(&two).unwrap_err().param(), Some("n"));
//! // …or `top_k` the other way.
//! let top_k = json!({"model": "c", "max_tokens": 9, "top_k": 5, "messages": []});
//! assert_eq!(messages_request_to_chat(&top_k).unwrap_err().param(), Some("top_k"));
//!
//! // Responses, for a provider with Chat Completions only.
//! let chat = responses_request_to_chat(&json!({"model": "m", "input": "hi", "instructions": "Be brief."})).unwrap();
//! assert_eq!(chat["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]));
//! // State that only a Responses server keeps is refused, never silently dropped.
//! let stateful = json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"});
//! assert!(responses_request_to_chat(&stateful).is_err());
//! ```

mod fields;
mod from_chat;
mod from_messages;
mod responses;

pub use from_chat::{chat_request_to_messages, chat_response_to_messages};
pub use from_messages::{TOOL_ERROR_PREFIX, messages_request_to_chat, messages_response_to_chat};
pub use responses::{
    chat_response_to_responses, responses_request_to_chat, responses_request_to_messages,
};
pub(crate) use responses::{
    function_item, incomplete_reason, message_item, refusal_item, response_object, usage_object,
};

/// The `max_tokens` sent to Anthropic when a chat request sets no limit (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Text of a string or of a list of `text` parts/blocks, joined.
fn text_of(content: &serde_json::Value) -> String {
    match content {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(serde_json::Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
