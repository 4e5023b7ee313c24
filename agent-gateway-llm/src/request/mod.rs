//! The decoded LLM request, as the policy layers see it through core's `AgentRequest` seam.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};
//! use agent_gateway_llm::{Api, LlmRequest};
//! use serde_json::json;
//!
//! let req = LlmRequest::decode(Api::ChatCompletions, json!({
//!     "model": "fast",
//!     "messages": [{"role": "user", "content": "How many tokens is this prompt?"}]
//! })).unwrap();
//! assert_eq!(req.action(), Action::ModelCall);
//! assert_eq!(req.target(), Some("fast"));
//! assert_eq!(req.arguments().unwrap()["messages"][0]["role"], "user");
//! assert!(req.estimated_input_tokens().unwrap() > 0);
//!
//! // A chat request without messages is refused before anything else sees it.
//! let err = LlmRequest::decode(Api::ChatCompletions, json!({"model": "fast"})).unwrap_err();
//! assert_eq!(err.param(), Some("messages"));
//! ```

mod check;
mod features;
mod tools;

pub use features::Feature;

use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderValue};
use http::{Extensions, HeaderMap};
use serde_json::Value;

use agent_gateway_core::{Action, AgentRequest, Parts, RequestParts};

use self::check::Checked;
use crate::error::InvalidRequest;
use crate::{Api, Dialect};

/// An LLM API request: the API it speaks, the model alias, and the body JSON kept whole.
///
/// The body is kept as JSON, so that every field the client sent reaches the provider, and a
/// guardrail can read or redact it through [`AgentRequest::arguments`] and
/// [`body_mut`](LlmRequest::body_mut). It is held in an `Arc`: a clone of the request (the
/// router's, for each deployment it tries) shares the body instead of copying it.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    api: Api,
    dialect: Dialect,
    model: Option<String>,
    stream: bool,
    body: Arc<Value>,
    parts: Parts,
    estimated_input_tokens: Option<u64>,
}

impl LlmRequest {
    /// Checks `body` against the typed shape of `api` and decodes it.
    ///
    /// `model` must be a string, and `messages` (chat, messages) present; the other fields are
    /// checked by their types. Nothing is dropped: the body is kept as it came.
    ///
    /// The shape is checked on borrowed views of the JSON, without copying it; the prompt
    /// (conversation, system prompt, tools) is measured as it would serialize, for
    /// [`estimated_input_tokens`](AgentRequest::estimated_input_tokens).
    pub fn decode(api: Api, body: Value) -> Result<Self, InvalidRequest> {
        if api == Api::ListModels && body.is_object() {
            return Ok(LlmRequest::list_models(Dialect::OpenAi));
        }
        Self::check_required(api, &body)?;
        let checked = check::check(api, &body)?;
        let prompt = check::value_prompt_len(&body);
        Ok(Self::checked(api, body, checked, prompt))
    }

    /// Parses `bytes` as JSON, then checks and decodes it as [`decode`](LlmRequest::decode)
    /// does, measuring the prompt on the raw bytes instead, as the client sent them.
    ///
    /// This is what the front uses: the body is parsed once, and neither copied nor
    /// serialized again to be checked or measured.
    pub fn from_slice(api: Api, bytes: &[u8]) -> Result<Self, InvalidRequest> {
        let body: Value = serde_json::from_slice(bytes)
            .map_err(|e| InvalidRequest::new(format!("the request body is not valid JSON: {e}")))?;
        if api == Api::ListModels && body.is_object() {
            return Ok(LlmRequest::list_models(Dialect::OpenAi));
        }
        Self::check_required(api, &body)?;
        let checked = check::check(api, &body)?;
        let prompt = check::raw_prompt_len(bytes).unwrap_or(bytes.len());
        Ok(Self::checked(api, body, checked, prompt))
    }

    /// The checks that name their parameter: an object, with a string `model`, and
    /// `messages` where the API needs them.
    fn check_required(api: Api, body: &Value) -> Result<(), InvalidRequest> {
        let Value::Object(map) = body else {
            return Err(InvalidRequest::new(
                "the request body must be a JSON object",
            ));
        };
        match map.get("model") {
            Some(Value::String(_)) => {}
            Some(_) => {
                return Err(InvalidRequest::new("`model` must be a string").with_param("model"));
            }
            None => {
                return Err(
                    InvalidRequest::new("missing required parameter: `model`").with_param("model")
                );
            }
        }
        if matches!(api, Api::ChatCompletions | Api::Messages) && !map.contains_key("messages") {
            return Err(
                InvalidRequest::new("missing required parameter: `messages`")
                    .with_param("messages"),
            );
        }
        Ok(())
    }

    /// The request, from a body already parsed and checked.
    fn checked(api: Api, body: Value, checked: Checked, prompt_len: usize) -> Self {
        let model = body.get("model").and_then(Value::as_str).map(str::to_owned);
        LlmRequest {
            api,
            dialect: api.dialect(),
            model,
            stream: checked.stream,
            body: Arc::new(body),
            parts: Parts::default(),
            estimated_input_tokens: Some(estimate_tokens(prompt_len)),
        }
    }

    /// A `GET /v1/models` request from a client of `dialect`.
    pub fn list_models(dialect: Dialect) -> Self {
        LlmRequest {
            api: Api::ListModels,
            dialect,
            model: None,
            stream: false,
            body: Arc::new(Value::Null),
            parts: Parts::default(),
            estimated_input_tokens: None,
        }
    }

    /// Replaces the headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.parts.headers = headers;
        self
    }

    /// Replaces the extensions.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.parts.extensions = extensions;
        self
    }

    /// The API this request speaks.
    pub fn api(&self) -> Api {
        self.api
    }

    /// The dialect the client understands.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The model alias the client asked for.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// The body JSON, as the client sent it (and as policy may have edited it).
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The body JSON, mutably, for a guardrail that redacts. The model alias and the stream
    /// flag were read at decode time and do not change.
    ///
    /// Copies the body first if a clone of this request shares it.
    pub fn body_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.body)
    }

    /// The price- or tool-changing [`Feature`]s the request uses (its body and headers), which
    /// a deployment serves only if it allows them.
    pub fn features(&self) -> Vec<Feature> {
        features::used(&self.body, &self.parts.headers)
    }
}

/// The bearer token or `x-api-key` in `headers`.
#[cfg(test)]
fn client_credential(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
}

/// Makes `x-api-key` visible as `Authorization: Bearer`, so that one auth layer reads the
/// credential of both Anthropic client styles. Leaves an existing `Authorization` alone.
pub(crate) fn normalize_credential(headers: &mut HeaderMap) {
    if headers.contains_key(AUTHORIZATION) {
        return;
    }
    let bearer = headers
        .get("x-api-key")
        .and_then(|v| HeaderValue::from_bytes(&[b"Bearer ", v.as_bytes()].concat()).ok());
    if let Some(mut bearer) = bearer {
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
    }
}

/// Four bytes of JSON per token, rounded up: a cheap, deliberately rough estimate for
/// admission, reconciled with the real count when the response ends.
fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

impl AgentRequest for LlmRequest {
    fn protocol(&self) -> &'static str {
        "llm"
    }

    fn action(&self) -> Action {
        match self.api {
            Api::ListModels => Action::ListModels,
            _ => Action::ModelCall,
        }
    }

    fn target(&self) -> Option<&str> {
        self.model.as_deref()
    }

    fn arguments(&self) -> Option<&Value> {
        (!self.body.is_null()).then_some(&*self.body)
    }

    fn arguments_mut(&mut self) -> Option<&mut Value> {
        // The provider is sent this body, so a redaction here reaches it.
        (!self.body.is_null()).then(|| self.body_mut())
    }

    fn parts(&self) -> &dyn RequestParts {
        &self.parts
    }

    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        &mut self.parts
    }

    fn estimated_input_tokens(&self) -> Option<u64> {
        self.estimated_input_tokens
    }

    fn offered_tools(&self) -> Vec<agent_gateway_core::content::ToolDefinition<'_>> {
        tools::offered(self.api, &self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn estimates_from_the_prompt_only() {
        let messages = json!([{"role": "user", "content": "x".repeat(400)}]);
        let req = LlmRequest::decode(
            Api::ChatCompletions,
            json!({"model": "m", "messages": messages, "metadata": {"big": "y".repeat(1000)}}),
        )
        .unwrap();
        let expected = (serde_json::to_string(&messages).unwrap().len() as u64).div_ceil(4);
        assert_eq!(req.estimated_input_tokens(), Some(expected));
        assert!(!req.is_stream());
    }

    #[test]
    fn messages_need_max_tokens_and_read_stream() {
        let body = json!({"model": "c", "messages": [], "stream": true});
        let err = LlmRequest::decode(Api::Messages, body).unwrap_err();
        assert!(err.to_string().contains("max_tokens"), "{err}");
        let req = LlmRequest::decode(
            Api::Messages,
            json!({"model": "c", "max_tokens": 5, "messages": [], "stream": true, "system": "s"}),
        )
        .unwrap();
        assert!(req.is_stream());
        assert_eq!(req.dialect(), Dialect::Anthropic);
    }

    #[test]
    fn bad_shapes_name_the_parameter() {
        let e = LlmRequest::decode(Api::Responses, json!({"model": 3})).unwrap_err();
        assert_eq!(e.param(), Some("model"));
        let e = LlmRequest::decode(Api::ChatCompletions, json!([1])).unwrap_err();
        assert_eq!(e.param(), None);
        let e = LlmRequest::decode(
            Api::ChatCompletions,
            json!({"model": "m", "messages": "hi"}),
        );
        assert!(e.is_err());
    }

    #[test]
    fn credential_from_either_header() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("sk-ant"));
        assert_eq!(client_credential(&h), Some("sk-ant"));
        normalize_credential(&mut h);
        assert_eq!(h[AUTHORIZATION], "Bearer sk-ant");
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer other"));
        normalize_credential(&mut h);
        assert_eq!(client_credential(&h), Some("other"));
    }
}
