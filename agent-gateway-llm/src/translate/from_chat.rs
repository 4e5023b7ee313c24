//! Chat Completions → Anthropic Messages (requests), and a chat answer → a Messages answer.

use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX_TOKENS, text_of};
use crate::error::InvalidRequest;
use crate::types::{ChatCompletion, ChatCompletionRequest, ChatMessage};

fn invalid(e: serde_json::Error) -> InvalidRequest {
    InvalidRequest::new(format!("invalid request body: {e}"))
}

/// A Chat Completions request body as an Anthropic Messages request body.
///
/// System and developer messages become `system`; tool calls become `tool_use` blocks and tool
/// messages `tool_result` blocks; consecutive messages of one role are merged, as Anthropic
/// requires alternation. `temperature`, `top_p` and `stop` carry over (the provider then sends
/// the `anthropic-version` that allows them); fields Anthropic has no equivalent for are dropped.
pub fn chat_request_to_messages(body: &Value) -> Result<Value, InvalidRequest> {
    let req = ChatCompletionRequest::deserialize_value(body)?;
    let mut system = Vec::new();
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role.as_str() {
            "system" | "developer" => {
                system.push(m.content.as_ref().map(text_of).unwrap_or_default());
                continue;
            }
            "assistant" => ("assistant", assistant_blocks(m)),
            "tool" => {
                let result = json!({"type": "tool_result", "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content.as_ref().map(text_of).unwrap_or_default()});
                ("user", vec![result])
            }
            _ => ("user", user_blocks(m.content.as_ref())),
        };
        match turns.last_mut() {
            Some((last, existing)) if last == role => existing.extend(blocks),
            _ => turns.push((role.to_owned(), blocks)),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(req.model.clone()));
    let max = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".into(), max.into());
    if !system.is_empty() {
        out.insert("system".into(), Value::String(system.join("\n")));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    out.insert("messages".into(), Value::Array(messages));
    if let Some(tools) = &req.tools {
        let tools: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.function.as_ref())
            .map(|f| {
                let mut t = json!({"name": f.name, "input_schema": f.parameters.clone().unwrap_or_else(|| json!({"type": "object"}))});
                if let Some(d) = &f.description {
                    t["description"] = Value::String(d.clone());
                }
                t
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let mapped = match choice {
            Value::String(s) if s == "none" => Some(json!({"type": "none"})),
            Value::String(s) if s == "required" => Some(json!({"type": "any"})),
            Value::String(_) => Some(json!({"type": "auto"})),
            other => other
                .pointer("/function/name")
                .map(|n| json!({"type": "tool", "name": n})),
        };
        if let Some(mapped) = mapped {
            out.insert("tool_choice".into(), mapped);
        }
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.extra.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    match req.extra.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) => {
            out.insert("stop_sequences".into(), Value::Array(a.clone()));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

fn assistant_blocks(m: &ChatMessage) -> Vec<Value> {
    let mut blocks = Vec::new();
    let text = m.content.as_ref().map(text_of).unwrap_or_default();
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for call in m.tool_calls.iter().flatten() {
        let f = call.function.as_ref();
        let input = f
            .and_then(|f| f.arguments.as_deref())
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        blocks.push(
            json!({"type": "tool_use", "id": call.id.clone().unwrap_or_default(),
            "name": f.and_then(|f| f.name.clone()).unwrap_or_default(), "input": input}),
        );
    }
    blocks
}

fn user_blocks(content: Option<&Value>) -> Vec<Value> {
    match content {
        Some(Value::Array(parts)) => parts.iter().filter_map(user_part).collect(),
        Some(other) => vec![json!({"type": "text", "text": text_of(other)})],
        None => Vec::new(),
    }
}

fn user_part(part: &Value) -> Option<Value> {
    match part.get("type").and_then(Value::as_str)? {
        "text" => Some(json!({"type": "text", "text": part.get("text")?})),
        "image_url" => {
            let url = part.pointer("/image_url/url").and_then(Value::as_str)?;
            let source = match url
                .strip_prefix("data:")
                .and_then(|rest| rest.split_once(";base64,"))
            {
                Some((media_type, data)) => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                None => json!({"type": "url", "url": url}),
            };
            Some(json!({"type": "image", "source": source}))
        }
        _ => None,
    }
}

/// A Chat Completions answer as an Anthropic Messages answer.
pub fn chat_response_to_messages(body: &Value) -> Result<Value, InvalidRequest> {
    let res = ChatCompletion::deserialize_value(body)?;
    let choice = res.choices.first();
    let mut content = Vec::new();
    if let Some(m) = choice.map(|c| &c.message) {
        content = assistant_blocks(m);
    }
    let stop = match choice.and_then(|c| c.finish_reason.as_deref()) {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    };
    let usage = res.usage.unwrap_or_default();
    let cached = usage
        .prompt_tokens_details
        .as_ref()
        .and_then(|d| d.cached_tokens)
        .unwrap_or(0);
    Ok(json!({
        "id": res.id, "type": "message", "role": "assistant", "model": res.model, "content": content,
        "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": usage.prompt_tokens.saturating_sub(cached), "output_tokens": usage.completion_tokens,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}
    }))
}

/// Deserialises a typed body from JSON, as a client error.
pub(super) trait FromValue: Sized {
    fn deserialize_value(v: &Value) -> Result<Self, InvalidRequest>;
}

impl<T: serde::de::DeserializeOwned> FromValue for T {
    fn deserialize_value(v: &Value) -> Result<Self, InvalidRequest> {
        T::deserialize(v).map_err(invalid)
    }
}
