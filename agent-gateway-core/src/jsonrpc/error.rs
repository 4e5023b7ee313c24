use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON-RPC error object: a code, a message and optional data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: Cow<'static, str>,
    /// Structured detail, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i64 = -32603;

    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<Cow<'static, str>>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds structured data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32700: the body is not valid JSON.
    pub fn parse_error() -> Self {
        ErrorObject::new(Self::PARSE_ERROR, "Parse error")
    }

    /// -32600: the JSON is not a valid request.
    pub fn invalid_request(detail: impl Into<Cow<'static, str>>) -> Self {
        ErrorObject::new(Self::INVALID_REQUEST, detail)
    }

    /// -32601: no such method.
    pub fn method_not_found(method: &str) -> Self {
        ErrorObject::new(
            Self::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
    }

    /// -32602: the parameters are invalid.
    pub fn invalid_params(detail: impl Into<Cow<'static, str>>) -> Self {
        ErrorObject::new(Self::INVALID_PARAMS, detail)
    }

    /// -32603: an internal error. The message says nothing about the cause, by design.
    pub fn internal_error() -> Self {
        ErrorObject::new(Self::INTERNAL_ERROR, "Internal error")
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ErrorObject {}
