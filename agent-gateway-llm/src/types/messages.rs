//! Anthropic Messages: request, response and stream events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// A `POST /v1/messages` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The model (an alias, as the client sends it).
    pub model: String,
    /// The output token limit (required by Anthropic).
    pub max_tokens: u64,
    /// The conversation.
    pub messages: Vec<AnthropicMessage>,
    /// The system prompt: a string or text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Value>,
    /// Whether to stream the answer as named SSE events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// The tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<AnthropicTool>>,
    /// `auto`, `any`, `tool` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Sequences that stop generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Everything else (`temperature`, `thinking`, `metadata`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// A string or content blocks (`text`, `image`, `tool_use`, `tool_result`, …).
    pub content: Value,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicTool {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its input, as a JSON Schema (absent for server tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// Everything else (`type`, `cache_control`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A non-streamed answer, and the `message` of a `message_start` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// `msg_…`.
    pub id: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The content blocks (empty in `message_start`).
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, …
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The token usage.
    #[serde(default)]
    pub usage: AnthropicUsage,
    /// Everything else (`type`, `role`, `stop_sequence`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One content block of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentBlock {
    /// `text`, `tool_use`, `thinking`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The id of a `tool_use` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool name of a `tool_use` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The input object of a `tool_use` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Anthropic token usage. `input_tokens` excludes the cache reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnthropicUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens (cumulative, in `message_delta`).
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDelta {
    /// Why the message stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Everything else (`stop_sequence`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One event of a streamed answer, as named by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessagesStreamEvent {
    /// The message begins; its usage has the input tokens.
    MessageStart {
        /// The message so far.
        message: MessagesResponse,
    },
    /// A content block begins.
    ContentBlockStart {
        /// Its position.
        index: u32,
        /// The block, empty.
        content_block: ContentBlock,
    },
    /// A piece of a content block.
    ContentBlockDelta {
        /// The block's position.
        index: u32,
        /// `text_delta`, `input_json_delta`, …
        delta: Value,
    },
    /// A content block ends.
    ContentBlockStop {
        /// Its position.
        index: u32,
    },
    /// The message's stop reason and cumulative usage.
    MessageDelta {
        /// The stop reason.
        #[serde(default)]
        delta: MessageDelta,
        /// Cumulative usage.
        #[serde(default)]
        usage: AnthropicUsage,
    },
    /// The message ends.
    MessageStop,
    /// A keep-alive.
    Ping,
    /// An error that aborts the stream.
    Error {
        /// The error.
        error: Value,
    },
    /// An event type this crate does not know.
    #[serde(other)]
    Unknown,
}
