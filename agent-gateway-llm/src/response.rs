//! The LLM response, as the policy layers see it: usage reported through core's seam, the
//! output for guardrails, and model listings that policy filters per caller.
//!
//! ```
//! use agent_gateway_core::response::AgentResponse;
//! use agent_gateway_llm::{Dialect, LlmResponse};
//!
//! let mut res = LlmResponse::models(["fast", "smart", "internal"], "gateway");
//! // A policy hides what the caller may not use.
//! let removed = res.retain_items(&mut |item| item.name != "internal");
//! assert_eq!(removed, 1);
//! let http = res.into_http(Dialect::OpenAi);
//! assert_eq!(http.status(), 200);
//! assert!(http.extensions().get::<agent_gateway_core::UsageReport>().is_some());
//! ```

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use agent_gateway_core::content::{Blocked, TextFilter, ToolCallCheck};
use agent_gateway_core::response::{AgentResponse, Item, Outcome, ServedBy};
use agent_gateway_core::{Action, Denied, Usage, UsageReport};

use crate::front::error_response;
use crate::stream::{CheckToolCalls, FilterText, SseTransform};
use crate::{Dialect, LlmBody};

/// A model response: status, headers, a body that may stream, and its usage report.
#[derive(Debug)]
pub struct LlmResponse {
    status: StatusCode,
    headers: HeaderMap,
    content: Content,
    usage: UsageReport,
    served: Option<ServedBy>,
}

#[derive(Debug)]
enum Content {
    Json {
        bytes: Bytes,
        value: Value,
    },
    Stream(LlmBody),
    Models(Vec<ModelEntry>),
    /// A guardrail refused the whole answer: the client gets the denial instead.
    Denied(Denied),
}

#[derive(Debug)]
struct ModelEntry {
    id: String,
    value: Value,
}

impl LlmResponse {
    /// A whole JSON answer: `bytes` are relayed as they are, `value` is their parse, for
    /// guardrails. `usage` is usually already complete.
    pub fn json(
        status: StatusCode,
        headers: HeaderMap,
        bytes: Bytes,
        value: Value,
        usage: UsageReport,
    ) -> Self {
        LlmResponse {
            status,
            headers,
            content: Content::Json { bytes, value },
            usage,
            served: None,
        }
    }

    /// A streamed answer; `usage` completes when the body ends or is dropped.
    pub fn stream(
        status: StatusCode,
        headers: HeaderMap,
        body: LlmBody,
        usage: UsageReport,
    ) -> Self {
        LlmResponse {
            status,
            headers,
            content: Content::Stream(body),
            usage,
            served: None,
        }
    }

    /// A model listing of `ids`; its usage is complete and zero.
    pub fn models<I>(ids: I, owned_by: &str) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let entries = ids
            .into_iter()
            .map(|id| {
                let id = id.into();
                let value =
                    json!({"id": id, "object": "model", "created": 0, "owned_by": owned_by});
                ModelEntry { id, value }
            })
            .collect();
        let usage = UsageReport::new();
        usage.complete(Usage::default(), Outcome::Complete);
        LlmResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            content: Content::Models(entries),
            usage,
            served: None,
        }
    }

    /// Says which provider and deployment answered, for the audit record
    /// ([`AgentResponse::served_by`]); it travels in the HTTP response's extensions too.
    pub fn with_served_by(mut self, served: ServedBy) -> Self {
        self.served = Some(served);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers relayed to the client.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// Whether the body streams.
    pub fn is_stream(&self) -> bool {
        matches!(self.content, Content::Stream(_))
    }

    /// The ids of a model listing, after any filtering.
    pub fn model_ids(&self) -> Vec<&str> {
        match &self.content {
            Content::Models(entries) => entries.iter().map(|e| e.id.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Rewrites a whole JSON answer with `f` (translation between dialects); a stream or a
    /// listing is returned as it is.
    pub(crate) fn map_json<E>(
        mut self,
        f: impl FnOnce(&Value) -> Result<Value, E>,
    ) -> Result<Self, E> {
        if let Content::Json { bytes, value } = &mut self.content {
            *value = f(value)?;
            *bytes = Bytes::from(value.to_string());
        }
        Ok(self)
    }

    /// Rewrites a streamed body with `f` (translation between dialects); a whole answer or a
    /// listing is returned as it is.
    pub(crate) fn map_stream(mut self, f: impl FnOnce(LlmBody) -> LlmBody) -> Self {
        if let Content::Stream(body) = &mut self.content {
            let inner = std::mem::replace(body, LlmBody::full(Bytes::new()));
            *body = f(inner);
        }
        self
    }

    /// The HTTP response for a client of `dialect`. The usage report travels in its
    /// extensions, for HTTP-level layers.
    pub fn into_http(self, dialect: Dialect) -> http::Response<LlmBody> {
        let served = self.served;
        let body = match self.content {
            Content::Json { bytes, value } if bytes.is_empty() => {
                LlmBody::full(Bytes::from(value.to_string()))
            }
            Content::Denied(denied) => {
                let mut res = error_response(&denied, dialect);
                res.extensions_mut().insert(self.usage);
                if let Some(served) = served {
                    res.extensions_mut().insert(served);
                }
                return res;
            }
            Content::Json { bytes, .. } => LlmBody::full(bytes),
            Content::Stream(body) => body,
            Content::Models(entries) => LlmBody::full(render_models(&entries, dialect)),
        };
        let mut res = http::Response::new(body);
        *res.status_mut() = self.status;
        *res.headers_mut() = self.headers;
        if !res.headers().contains_key(CONTENT_TYPE) && !res.body().is_stream() {
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        res.extensions_mut().insert(self.usage);
        if let Some(served) = served {
            res.extensions_mut().insert(served);
        }
        res
    }
}

fn render_models(entries: &[ModelEntry], dialect: Dialect) -> Bytes {
    let doc = match dialect {
        Dialect::Anthropic => {
            let data: Vec<Value> = entries
                .iter()
                .map(|e| {
                    json!({"type": "model", "id": e.id, "display_name": e.id,
                           "created_at": "1970-01-01T00:00:00Z"})
                })
                .collect();
            json!({
                "data": data,
                "has_more": false,
                "first_id": entries.first().map(|e| e.id.as_str()),
                "last_id": entries.last().map(|e| e.id.as_str()),
            })
        }
        _ => {
            let data: Vec<&Value> = entries.iter().map(|e| &e.value).collect();
            json!({"object": "list", "data": data})
        }
    };
    Bytes::from(doc.to_string())
}

impl AgentResponse for LlmResponse {
    fn usage_report(&self) -> Option<&UsageReport> {
        Some(&self.usage)
    }

    fn served_by(&self) -> Option<&ServedBy> {
        self.served.as_ref()
    }

    fn output(&self) -> Option<&Value> {
        match &self.content {
            Content::Json { value, .. } => Some(value),
            _ => None,
        }
    }

    fn output_mut(&mut self) -> Option<&mut Value> {
        match &mut self.content {
            Content::Json { bytes, value } => {
                // The value may change: empty bytes mean "encode the value again" (a JSON
                // body is never empty).
                *bytes = Bytes::new();
                Some(value)
            }
            _ => None,
        }
    }

    /// A stream's text is filtered as it passes ([`FilterText`]); a whole answer's text
    /// (Chat Completions `choices[].message.content`, Responses `output_text` parts, Anthropic
    /// `text` blocks) is filtered at once, each text on its own, and a block turns the answer
    /// into the client dialect's guardrail denial. A model listing has no text.
    fn filter_text(&mut self, mut filter: Box<dyn TextFilter>) -> Result<(), Box<dyn TextFilter>> {
        match &mut self.content {
            Content::Stream(body) => {
                let inner = std::mem::replace(body, LlmBody::full(Bytes::new()));
                *body = LlmBody::stream(SseTransform::new(inner, FilterText::new(filter)));
                Ok(())
            }
            Content::Json { bytes, value } => {
                match filter_answer(value, filter.as_mut()) {
                    // One rule with `output_mut`: empty bytes mean "encode the value again",
                    // done once in `into_http` whatever number of guardrails rewrote it.
                    Ok(true) => *bytes = Bytes::new(),
                    Ok(false) => {}
                    Err(blocked) => {
                        self.content =
                            Content::Denied(Denied::guardrail_blocked(blocked.rule_id()));
                    }
                }
                Ok(())
            }
            Content::Models(_) | Content::Denied(_) => Err(filter),
        }
    }

    /// A whole answer's message texts (Chat Completions `choices[].message.content`,
    /// Responses `output_text` parts, Anthropic `text` blocks); ids, model names, tool names
    /// and usage are left out.
    fn content_mut(&mut self, f: &mut dyn FnMut(&mut Value)) -> bool {
        let Content::Json { bytes, value } = &mut self.content else {
            return false;
        };
        // The value may change: encode it again.
        *bytes = Bytes::new();
        for text in answer_texts(value) {
            f(text);
        }
        true
    }

    /// A stream's tool calls are checked as each one's arguments complete
    /// ([`CheckToolCalls`]); a whole answer's at once, a block turning it into the client
    /// dialect's guardrail denial naming the rule and the reason. A listing has none.
    fn check_tool_calls(
        &mut self,
        mut check: Box<dyn ToolCallCheck>,
    ) -> Result<(), Box<dyn ToolCallCheck>> {
        match &mut self.content {
            Content::Stream(body) => {
                let inner = std::mem::replace(body, LlmBody::full(Bytes::new()));
                *body = LlmBody::stream(SseTransform::new(inner, CheckToolCalls::new(check)));
                Ok(())
            }
            Content::Json { value, .. } => {
                if let Err(blocked) = crate::calls::check_answer(value, check.as_mut()) {
                    self.content = Content::Denied(blocked.to_denied());
                }
                Ok(())
            }
            Content::Models(_) | Content::Denied(_) => Err(check),
        }
    }

    fn retain_items(&mut self, keep: &mut dyn FnMut(&Item<'_>) -> bool) -> usize {
        let Content::Models(entries) = &mut self.content else {
            return 0;
        };
        let before = entries.len();
        entries.retain(|e| {
            keep(&Item {
                action: Action::ModelCall,
                name: &e.id,
                value: &e.value,
            })
        });
        before - entries.len()
    }
}

/// Filters every text of a whole answer, in any of the three wire formats; whether one changed.
fn filter_answer(value: &mut Value, filter: &mut dyn TextFilter) -> Result<bool, Blocked> {
    let texts = answer_texts(value);
    let mut changed = false;
    for slot in texts {
        let Some(text) = slot.as_str() else {
            continue;
        };
        let mut out = String::with_capacity(text.len());
        filter.push(text, &mut out)?;
        filter.finish(&mut out)?;
        if out != text {
            *slot = Value::String(out);
            changed = true;
        }
    }
    Ok(changed)
}

/// The message texts of a whole answer, in any of the three wire formats.
fn answer_texts(value: &mut Value) -> Vec<&mut Value> {
    if value.get("choices").is_some_and(Value::is_array) {
        // Chat Completions: choices[].message.content.
        value["choices"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer_mut("/message/content"))
            .collect()
    } else if value.get("output").is_some_and(Value::is_array) {
        // Responses: output[] messages, their output_text parts.
        value["output"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .filter_map(|item| item.get_mut("content").and_then(Value::as_array_mut))
            .flatten()
            .filter(|p| p["type"] == "output_text")
            .filter_map(|p| p.get_mut("text"))
            .collect()
    } else {
        // Anthropic Messages: content[] text blocks.
        value
            .get_mut("content")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b.get_mut("text"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn models_render_in_both_dialects() {
        let res = LlmResponse::models(["a", "b"], "gw").into_http(Dialect::OpenAi);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["object"], "list");
        assert_eq!(v["data"][1]["id"], "b");
        assert_eq!(v["data"][0]["owned_by"], "gw");

        let mut res = LlmResponse::models(["a", "b"], "gw");
        assert_eq!(res.retain_items(&mut |i| i.name == "b"), 1);
        assert_eq!(res.model_ids(), ["b"]);
        let body = res
            .into_http(Dialect::Anthropic)
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["data"][0]["type"], "model");
        assert_eq!(
            (v["first_id"].as_str(), v["has_more"].as_bool()),
            (Some("b"), Some(false))
        );
    }

    #[test]
    fn json_exposes_output_and_keeps_bytes() {
        let report = UsageReport::new();
        let res = LlmResponse::json(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(b"{\"a\":1}"),
            json!({"a": 1}),
            report,
        );
        assert_eq!(res.output(), Some(&json!({"a": 1})));
        assert!(!res.is_stream());
        let http = res.into_http(Dialect::OpenAi);
        assert_eq!(http.headers()[CONTENT_TYPE], "application/json");
    }
}
