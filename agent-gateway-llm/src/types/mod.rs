//! Thin wire types for the OpenAI and Anthropic APIs: the fields the gateway reads or rewrites
//! are typed, and everything else is kept verbatim in an `extra` map.
//!
//! A proxy must not lose fields a provider adds tomorrow, so every struct carries
//! `#[serde(flatten)] extra` and re-serialises what it did not understand. Optional fields
//! that were absent stay absent.
//!
//! ```
//! use agent_gateway_llm::types::ChatCompletionRequest;
//! use serde_json::json;
//!
//! let wire = json!({
//!     "model": "fast",
//!     "messages": [{"role": "user", "content": "hi", "x_new_field": 1}],
//!     "reasoning_effort": "low"
//! });
//! let req: ChatCompletionRequest = serde_json::from_value(wire.clone()).unwrap();
//! assert_eq!(req.model, "fast");
//! assert_eq!(req.extra["reasoning_effort"], "low");
//! assert_eq!(serde_json::to_value(&req).unwrap(), wire); // nothing lost
//!
//! // A request without `messages` is refused by the type.
//! let bad = serde_json::from_value::<ChatCompletionRequest>(json!({"model": "fast"}));
//! assert!(bad.is_err());
//! ```

mod chat;
mod error;
mod messages;
mod models;
mod responses;

pub use chat::{
    ChatChoice, ChatChunkChoice, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest,
    ChatDelta, ChatMessage, ChatTool, ChatUsage, FunctionCall, FunctionDef, StreamOptions,
    TokenDetails, ToolCall,
};
pub use error::{AnthropicError, AnthropicErrorBody, OpenAiError, OpenAiErrorBody};
pub use messages::{
    AnthropicMessage, AnthropicTool, AnthropicUsage, ContentBlock, MessageDelta, MessagesRequest,
    MessagesResponse, MessagesStreamEvent,
};
pub use models::{Model, ModelList};
pub use responses::{ResponseObject, ResponsesRequest, ResponsesUsage};

/// Unknown fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests;
