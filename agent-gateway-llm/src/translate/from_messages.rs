//! Anthropic Messages → Chat Completions (requests), and a Messages answer → a chat answer.

use serde_json::{Map, Value, json};

use super::fields::{self, Accept, any, only, refused, refused_part};
use super::from_chat::FromValue;
use super::text_of;
use crate::error::InvalidRequest;
use crate::stream::finish_reason;
use crate::types::{MessagesRequest, MessagesResponse};

/// The dialect a Messages request is translated to, as refusals name it.
const TARGET: &str = "OpenAI Chat Completions";

/// The top-level Messages fields a chat provider can serve, and the values it can.
///
/// Translated: the conversation, `system`, `max_tokens`, tools, `tool_choice` (with
/// `disable_parallel_tool_use` as `parallel_tool_calls`), `stop_sequences`, `temperature`,
/// `top_p`, `metadata.user_id` (as `user`), `service_tier`. Accepted as changing nothing in
/// the answer: `cache_control` (a caching hint; OpenAI caches on its own), a disabled
/// `thinking`. Anything else (`top_k`, enabled `thinking`, `output_config`, `container`,
/// `mcp_servers`, …) is refused.
const FIELDS: &[(&str, Accept)] = &[
    any("model"),
    any("max_tokens"),
    any("messages"),
    any("system"),
    any("stream"),
    any("tools"),
    any("tool_choice"),
    any("stop_sequences"),
    any("temperature"),
    any("top_p"),
    any("cache_control"),
    only("metadata", |m| {
        m.as_object()
            .is_some_and(|m| m.keys().all(|k| k == "user_id"))
    }),
    only("service_tier", |v| {
        matches!(v.as_str(), Some("auto" | "standard_only"))
    }),
    only("thinking", |t| {
        t.get("type").and_then(Value::as_str) == Some("disabled")
    }),
];

/// An Anthropic Messages request body as a Chat Completions request body.
///
/// `system` becomes a system message; `tool_use` blocks become tool calls, and `tool_result`
/// blocks tool messages (placed before the rest of their turn; an `is_error` result's text is
/// prefixed with [`TOOL_ERROR_PREFIX`], as chat has no error flag); images become `image_url`
/// parts, PDF documents `file` parts. `max_tokens` becomes `max_completion_tokens`.
/// `thinking` blocks of earlier assistant turns are left out, as Anthropic itself ignores
/// them. A field or block a chat provider cannot express (`top_k`, `thinking`, citations,
/// server tools, images in tool results, …) is refused, naming it; nothing is dropped.
pub fn messages_request_to_chat(body: &Value) -> Result<Value, InvalidRequest> {
    fields::check(body, FIELDS, TARGET)?;
    let req = MessagesRequest::deserialize_value(body)?;
    let mut messages = Vec::new();
    if let Some(system) = &req.system {
        messages.push(json!({"role": "system", "content": text_blocks(system, "system")?}));
    }
    for m in &req.messages {
        let blocks = match &m.content {
            Value::String(s) => {
                messages.push(json!({"role": m.role, "content": s}));
                continue;
            }
            Value::Array(blocks) => blocks,
            _ => {
                return Err(refused_part(
                    "messages",
                    "content that is neither a string nor blocks",
                    TARGET,
                ));
            }
        };
        if m.role == "assistant" {
            messages.push(assistant_request_message(blocks)?);
            continue;
        }
        let mut parts = Vec::new();
        for b in blocks {
            match b.get("type").and_then(Value::as_str).unwrap_or("untyped") {
                "tool_result" => messages.push(tool_message(b)?),
                "text" => {
                    if b.get("citations").is_some_and(|c| !c.is_null()) {
                        return Err(refused_part(
                            "messages",
                            "a text block with citations",
                            TARGET,
                        ));
                    }
                    parts.push(
                        json!({"type": "text", "text": b.get("text").cloned().unwrap_or_default()}),
                    );
                }
                "image" => parts.push(image_part(b)?),
                "document" => parts.push(document_part(b)?),
                other => {
                    return Err(refused_part(
                        "messages",
                        &format!("a `{other}` block"),
                        TARGET,
                    ));
                }
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
        let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let mapped = match choice.get("type").and_then(Value::as_str) {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("auto") => json!("auto"),
            Some("tool") => {
                json!({"type": "function", "function": {"name": choice.get("name").cloned().unwrap_or_default()}})
            }
            _ => return Err(refused("tool_choice".into(), choice, TARGET)),
        };
        out.insert("tool_choice".into(), mapped);
        if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
            out.insert("parallel_tool_calls".into(), Value::Bool(false));
        }
    }
    if let Some(stops) = &req.stop_sequences {
        out.insert("stop".into(), json!(stops));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.extra.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(user) = req
        .extra
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .filter(|u| u.is_string())
    {
        out.insert("user".into(), user.clone());
    }
    match req.extra.get("service_tier").and_then(Value::as_str) {
        Some("auto") => {
            out.insert("service_tier".into(), json!("auto"));
        }
        Some("standard_only") => {
            out.insert("service_tier".into(), json!("default"));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

/// What precedes the text of an `is_error` tool result in the chat tool message: chat has
/// no error flag, so the model is told in words.
pub const TOOL_ERROR_PREFIX: &str = "Error: ";

/// An Anthropic tool as a chat function tool; server tools (typed: web search, code
/// execution, …) are refused.
fn tool(t: &crate::types::AnthropicTool) -> Result<Value, InvalidRequest> {
    if let Some(kind) = t
        .extra
        .get("type")
        .and_then(Value::as_str)
        .filter(|k| *k != "custom")
    {
        return Err(refused_part(
            "tools",
            &format!("a `{kind}` server tool"),
            TARGET,
        ));
    }
    let mut f = json!({"name": t.name, "parameters": t.input_schema.clone().unwrap_or_else(|| json!({"type": "object"}))});
    if let Some(d) = &t.description {
        f["description"] = Value::String(d.clone());
    }
    if let Some(strict) = t.extra.get("strict").filter(|v| v.is_boolean()) {
        f["strict"] = strict.clone();
    }
    Ok(json!({"type": "function", "function": f}))
}

/// A `tool_result` block as a tool message: its text (a string or `text` blocks).
fn tool_message(b: &Value) -> Result<Value, InvalidRequest> {
    let mut text = match b.get("content") {
        Some(content) => text_blocks(content, "messages")?,
        None => String::new(),
    };
    if b.get("is_error") == Some(&Value::Bool(true)) {
        text.insert_str(0, TOOL_ERROR_PREFIX);
    }
    Ok(
        json!({"role": "tool", "tool_call_id": b.get("tool_use_id").cloned().unwrap_or(Value::Null), "content": text}),
    )
}

/// The text of a string or of `text` blocks; any other block is refused.
fn text_blocks(content: &Value, param: &'static str) -> Result<String, InvalidRequest> {
    let blocks = content.as_array().into_iter().flatten();
    if let Some(b) = blocks
        .into_iter()
        .find(|b| b.get("type").and_then(Value::as_str) != Some("text"))
    {
        let kind = b.get("type").and_then(Value::as_str).unwrap_or("untyped");
        return Err(refused_part(
            param,
            &format!("a `{kind}` block where only text fits"),
            TARGET,
        ));
    }
    Ok(text_of(content))
}

fn image_part(b: &Value) -> Result<Value, InvalidRequest> {
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
        Some("url") => b
            .pointer("/source/url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => {
            return Err(refused_part(
                "messages",
                "an image whose source is not base64 or a URL",
                TARGET,
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// A base64 PDF `document` block as a chat `file` part; other sources, and citations, are
/// refused.
fn document_part(b: &Value) -> Result<Value, InvalidRequest> {
    let pdf = b.pointer("/source/type").and_then(Value::as_str) == Some("base64")
        && b.pointer("/source/media_type").and_then(Value::as_str) == Some("application/pdf");
    let cited = b.pointer("/citations/enabled") == Some(&Value::Bool(true));
    if !pdf || cited {
        return Err(refused_part(
            "messages",
            "a document other than a base64 PDF without citations",
            TARGET,
        ));
    }
    let data = b
        .pointer("/source/data")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut file = json!({"file_data": format!("data:application/pdf;base64,{data}")});
    if let Some(title) = b.get("title").filter(|t| t.is_string()) {
        file["filename"] = title.clone();
    }
    Ok(json!({"type": "file", "file": file}))
}

/// An assistant turn of a request: its text and tool calls; earlier `thinking` is left out,
/// anything else refused.
fn assistant_request_message(blocks: &[Value]) -> Result<Value, InvalidRequest> {
    for b in blocks {
        match b.get("type").and_then(Value::as_str).unwrap_or("untyped") {
            "text" | "tool_use" | "thinking" | "redacted_thinking" => {}
            other => {
                return Err(refused_part(
                    "messages",
                    &format!("an assistant `{other}` block"),
                    TARGET,
                ));
            }
        }
    }
    Ok(assistant_message(blocks))
}

/// The assistant message of the text and `tool_use` blocks; with `thinking` blocks' text as
/// `reasoning_content` (the field OpenAI-compatible servers use for reasoning) when
/// `reasoning` is set.
fn assistant_message_with(blocks: &[Value], reasoning: bool) -> Value {
    let of = |kind: &str, key: &str| -> Vec<&str> {
        blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some(kind))
            .filter_map(|b| b.get(key).and_then(Value::as_str))
            .collect()
    };
    let text = of("text", "text");
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
    let thinking = of("thinking", "thinking");
    if reasoning && !thinking.is_empty() {
        m["reasoning_content"] = Value::String(thinking.join(""));
    }
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    m
}

fn assistant_message(blocks: &[Value]) -> Value {
    assistant_message_with(blocks, false)
}

/// An Anthropic Messages answer as a Chat Completions answer: text and tool calls, `thinking`
/// as `reasoning_content`, the stop reason as `finish_reason` (`refusal` as
/// `content_filter`), and the usage with cache reads and writes inside `prompt_tokens`.
/// Citations cannot arise: a chat request cannot enable them through the translation.
pub fn messages_response_to_chat(body: &Value) -> Result<Value, InvalidRequest> {
    let res = MessagesResponse::deserialize_value(body)?;
    let blocks: Vec<Value> = res
        .content
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .collect();
    let message = assistant_message_with(&blocks, true);
    let finish = finish_reason(res.stop_reason.as_deref().unwrap_or("end_turn"));
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
