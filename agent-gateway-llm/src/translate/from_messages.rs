//! Anthropic Messages → Chat Completions (requests), and a Messages answer → a chat answer.

use serde_json::{Map, Value, json};

use super::from_chat::FromValue;
use super::text_of;
use crate::error::InvalidRequest;
use crate::types::{MessagesRequest, MessagesResponse};

/// An Anthropic Messages request body as a Chat Completions request body.
///
/// `system` becomes a system message; `tool_use` blocks become tool calls, and `tool_result`
/// blocks tool messages (placed before the rest of their turn); images become `image_url`
/// parts. `max_tokens` becomes `max_completion_tokens`; `top_k` and Anthropic-only fields
/// (`thinking`, `cache_control`, …) are dropped.
pub fn messages_request_to_chat(body: &Value) -> Result<Value, InvalidRequest> {
    let req = MessagesRequest::deserialize_value(body)?;
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(json!({"role": "system", "content": text_of(system)}));
    }
    for m in &req.messages {
        let blocks = match &m.content {
            Value::String(s) => {
                messages.push(json!({"role": m.role, "content": s}));
                continue;
            }
            Value::Array(blocks) => blocks,
            _ => continue,
        };
        if m.role == "assistant" {
            messages.push(assistant_message(blocks));
            continue;
        }
        let mut parts = Vec::new();
        for b in blocks {
            match b.get("type").and_then(Value::as_str) {
                Some("tool_result") => messages.push(json!({"role": "tool",
                    "tool_call_id": b.get("tool_use_id").cloned().unwrap_or(Value::Null),
                    "content": b.get("content").map(text_of).unwrap_or_default()})),
                Some("text") => parts.push(
                    json!({"type": "text", "text": b.get("text").cloned().unwrap_or_default()}),
                ),
                Some("image") => {
                    let url = match b.pointer("/source/type").and_then(Value::as_str) {
                        Some("base64") => format!(
                            "data:{};base64,{}",
                            b.pointer("/source/media_type")
                                .and_then(Value::as_str)
                                .unwrap_or("image/png"),
                            b.pointer("/source/data")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                        ),
                        _ => b
                            .pointer("/source/url")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    };
                    parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
                }
                _ => {}
            }
        }
        if !parts.is_empty() {
            messages.push(json!({"role": "user", "content": parts}));
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(req.model.clone()));
    out.insert("messages".into(), Value::Array(messages));
    out.insert("max_completion_tokens".into(), req.max_tokens.into());
    if let Some(tools) = &req.tools {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.input_schema.clone().unwrap_or_else(|| json!({"type": "object"}))});
                if let Some(d) = &t.description {
                    f["description"] = Value::String(d.clone());
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let mapped = match choice.get("type").and_then(Value::as_str) {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => {
                json!({"type": "function", "function": {"name": choice.get("name").cloned().unwrap_or_default()}})
            }
            _ => json!("auto"),
        };
        out.insert("tool_choice".into(), mapped);
    }
    if let Some(stops) = &req.stop_sequences {
        out.insert("stop".into(), json!(stops));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.extra.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

fn assistant_message(blocks: &[Value]) -> Value {
    let text: Vec<&str> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let calls: Vec<Value> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .map(|b| {
            json!({"id": b.get("id").cloned().unwrap_or_default(), "type": "function", "function": {
                "name": b.get("name").cloned().unwrap_or_default(),
                "arguments": b.get("input").map(Value::to_string).unwrap_or_else(|| "{}".to_owned())}})
        })
        .collect();
    let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { Value::String(text.join("")) }});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    m
}

/// An Anthropic Messages answer as a Chat Completions answer.
pub fn messages_response_to_chat(body: &Value) -> Result<Value, InvalidRequest> {
    let res = MessagesResponse::deserialize_value(body)?;
    let blocks: Vec<Value> = res
        .content
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .collect();
    let message = assistant_message(&blocks);
    let finish = match res.stop_reason.as_deref() {
        Some("max_tokens") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    };
    let u = &res.usage;
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens + read + u.cache_creation_input_tokens.unwrap_or(0);
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(json!({
        "id": res.id, "object": "chat.completion", "created": created, "model": res.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": u.output_tokens, "total_tokens": prompt + u.output_tokens,
                  "prompt_tokens_details": {"cached_tokens": read}}
    }))
}
