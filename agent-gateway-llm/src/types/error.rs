//! Error bodies of both dialects.

use serde::{Deserialize, Serialize};

/// An OpenAI error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiError {
    /// The error.
    pub error: OpenAiErrorBody,
}

/// The inside of an OpenAI error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiErrorBody {
    /// Human-readable.
    pub message: String,
    /// `invalid_request_error`, `rate_limit_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The request parameter at fault, if any.
    pub param: Option<String>,
    /// A machine-readable code, if any.
    pub code: Option<String>,
}

/// An Anthropic error body: `{"type": "error", "error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicError {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error.
    pub error: AnthropicErrorBody,
}

/// The inside of an Anthropic error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicErrorBody {
    /// `invalid_request_error`, `rate_limit_error`, `overloaded_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable.
    pub message: String,
}
