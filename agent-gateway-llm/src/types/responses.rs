//! OpenAI Responses API basics: request, response object and usage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// A `POST /v1/responses` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    /// The model (an alias, as the client sends it).
    pub model: String,
    /// A string or a list of input items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The system instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Whether to stream named SSE events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// The output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Everything else (`tools`, `reasoning`, `previous_response_id`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A response object, also the `response` of `response.completed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseObject {
    /// `resp_…`.
    pub id: String,
    /// `completed`, `failed`, `in_progress`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The output items.
    #[serde(default)]
    pub output: Vec<Value>,
    /// The token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponsesUsage>,
    /// Everything else, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token usage of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponsesUsage {
    /// Input tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Details of the input tokens, such as `cached_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<super::TokenDetails>,
    /// Everything else (`total_tokens`, …), verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
