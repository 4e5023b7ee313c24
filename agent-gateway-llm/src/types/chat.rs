//! OpenAI Chat Completions: request, response and stream chunk.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// A `POST /v1/chat/completions` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model (an alias, as the client sends it).
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Whether to stream the answer as SSE chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Stream options, such as `include_usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// The output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// The legacy output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// The tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ChatTool>>,
    /// `none`, `auto`, `required` or a named function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `stream_options` of a chat request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for a final chunk carrying the usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One message of a conversation, or the message of a choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `developer`, `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// A string, an array of parts, or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// The tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool definition: `{type: "function", function: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatTool {
    /// `function` or `custom`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function, for function tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDef>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function a model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDef {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its parameters, as a JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id, which the tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The position of the call, in stream deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The function and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCall>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function name (absent in later stream fragments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The arguments, a JSON document as a string (or a piece of one, in streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A non-streamed chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// The answers.
    pub choices: Vec<ChatChoice>,
    /// The tokens used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    /// Everything else (`object`, `created`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One answer of a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChoice {
    /// Its position.
    pub index: u32,
    /// The assistant message.
    pub message: ChatMessage,
    /// `stop`, `length`, `tool_calls`, `content_filter`, …
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token usage of a chat completion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatUsage {
    /// Input tokens, cached ones included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their sum.
    #[serde(default)]
    pub total_tokens: u64,
    /// Details of the input tokens, such as `cached_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<TokenDetails>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token details: the cached part of the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenDetails {
    /// Input tokens served from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `data:` chunk of a streamed chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The completion id, the same in every chunk.
    #[serde(default)]
    pub id: String,
    /// The deltas; empty in the final usage chunk.
    #[serde(default)]
    pub choices: Vec<ChatChunkChoice>,
    /// The usage: null in every chunk but the final usage chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatUsage>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One choice of a stream chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChunkChoice {
    /// Its position.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: ChatDelta,
    /// Set in the last content chunk.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a chunk adds to the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatDelta {
    /// `assistant`, in the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A piece of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Pieces of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
