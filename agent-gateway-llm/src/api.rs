//! Which API a request speaks, and which error dialect its client understands.
//!
//! ```
//! use agent_gateway_llm::{Api, Dialect};
//!
//! assert_eq!(Api::from_path("/v1/chat/completions"), Some(Api::ChatCompletions));
//! assert_eq!(Api::from_path("/llm/v1/messages"), Some(Api::Messages));
//! assert_eq!(Api::Messages.dialect(), Dialect::Anthropic);
//! assert_eq!(Api::from_path("/v1/embeddings"), None);
//! ```

/// The LLM APIs the fronts serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// OpenAI `POST /v1/chat/completions`.
    ChatCompletions,
    /// OpenAI `POST /v1/responses`.
    Responses,
    /// Anthropic `POST /v1/messages`.
    Messages,
    /// `GET /v1/models`.
    ListModels,
}

impl Api {
    /// The API a request path names, by its last segments, so the front works under any
    /// prefix (`nest_service("/llm", …)` or `route_service("/v1/messages", …)`).
    pub fn from_path(path: &str) -> Option<Api> {
        let path = path.trim_end_matches('/');
        if path.ends_with("/chat/completions") {
            Some(Api::ChatCompletions)
        } else if path.ends_with("/responses") {
            Some(Api::Responses)
        } else if path.ends_with("/messages") {
            Some(Api::Messages)
        } else if path.ends_with("/models") {
            Some(Api::ListModels)
        } else {
            None
        }
    }

    /// The dialect of this API's clients. A model listing is OpenAI's unless the client sent
    /// `anthropic-version`; the front decides that.
    pub const fn dialect(self) -> Dialect {
        match self {
            Api::Messages => Dialect::Anthropic,
            _ => Dialect::OpenAi,
        }
    }

    /// The stable snake_case name of this API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Api::ChatCompletions => "chat_completions",
            Api::Responses => "responses",
            Api::Messages => "messages",
            Api::ListModels => "list_models",
        }
    }
}

/// The wire dialect of a client or a provider: bodies, stream events and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// OpenAI: `{"error": {"message", "type", "param", "code"}}`.
    OpenAi,
    /// Anthropic: `{"type": "error", "error": {"type", "message"}}`.
    Anthropic,
}
