//! OpenAI Responses → Chat Completions (requests), and a chat answer → a response object, for
//! providers without the Responses API.

use serde_json::{Map, Value, json};

use super::chat_request_to_messages;
use super::fields::{self, Accept, any, is_empty, is_false, only, refused, refused_part};
use super::from_chat::FromValue;
use super::text_of;
use crate::error::InvalidRequest;
use crate::types::{ChatCompletion, ResponsesRequest};

/// Request fields that need state kept by a Responses server: a chat provider cannot serve
/// them, so a request that sets them is refused rather than silently answered without them.
const STATEFUL: [&str; 3] = ["previous_response_id", "conversation", "background"];

/// The dialect a Responses request is translated to, as refusals name it.
const TARGET: &str = "OpenAI Chat Completions";

/// The top-level Responses fields a chat provider can serve (the stateful ones are refused
/// first, with their own message).
///
/// Translated: the input, `instructions`, `max_output_tokens`, function tools,
/// `tool_choice`, `text` (`format`, `verbosity`), `reasoning.effort`, `temperature`,
/// `top_p`, `parallel_tool_calls`, `user`, `safety_identifier`, `service_tier`,
/// `prompt_cache_key`. Accepted as changing nothing in the answer: `store` and `metadata`
/// (there is no stored response to keep; one cannot be referred to later, since
/// `previous_response_id` is refused), `stream_options`, defaults (`truncation: disabled`,
/// an empty `include`, `background: false`). Anything else (`reasoning.summary`,
/// `top_logprobs`, `max_tool_calls`, `prompt`, …) is refused.
const FIELDS: &[(&str, Accept)] = &[
    any("model"),
    any("input"),
    any("instructions"),
    any("max_output_tokens"),
    any("tools"),
    any("tool_choice"),
    only("text", |t| {
        t.as_object()
            .is_some_and(|t| t.keys().all(|k| k == "format" || k == "verbosity"))
    }),
    only("reasoning", |r| {
        r.as_object()
            .is_some_and(|r| r.iter().all(|(k, v)| k == "effort" || v.is_null()))
    }),
    any("temperature"),
    any("top_p"),
    any("parallel_tool_calls"),
    any("user"),
    any("safety_identifier"),
    any("service_tier"),
    any("prompt_cache_key"),
    any("stream"),
    any("stream_options"),
    any("store"),
    any("metadata"),
    only("truncation", |v| v == "disabled"),
    only("include", is_empty),
    only("background", is_false),
];

/// A Responses request body as a Chat Completions request body.
///
/// `instructions` becomes a system message; input messages keep their role, with
/// `input_text`/`output_text` parts as text and `input_image` as `image_url`;
/// `function_call` items become assistant tool calls and `function_call_output` items tool
/// messages; flat function tools are nested as chat wants them; `max_output_tokens` becomes
/// `max_tokens`, `text.format` `response_format`, `reasoning.effort` `reasoning_effort`.
/// Built-in tools (web search, file search, MCP, …) and stateful fields are refused.
pub fn responses_request_to_chat(body: &Value) -> Result<Value, InvalidRequest> {
    let req = ResponsesRequest::deserialize_value(body)?;
    for key in STATEFUL {
        if req
            .extra
            .get(key)
            .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
        {
            return Err(InvalidRequest::new(format!(
                "`{key}` is not supported for this model: its provider has no Responses API"
            ))
            .with_param(key));
        }
    }
    fields::check(body, FIELDS, TARGET)?;
    let mut messages = Vec::new();
    if let Some(instructions) = &req.instructions {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    match &req.input {
        Some(Value::String(s)) => messages.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for item in items {
                input_item(item, &mut messages)?;
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(
                InvalidRequest::new("`input` must be a string or a list").with_param("input")
            );
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(req.model.clone()));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(max) = req.max_output_tokens {
        out.insert("max_tokens".into(), max.into());
    }
    if let Some(tools) = req.extra.get("tools").and_then(Value::as_array) {
        let mut mapped = Vec::new();
        for t in tools {
            if t.get("type").and_then(Value::as_str) != Some("function") {
                return Err(InvalidRequest::new(
                    "only function tools are supported for this model: its provider has no Responses API",
                )
                .with_param("tools"));
            }
            let mut f = Map::new();
            for key in ["name", "description", "parameters", "strict"] {
                if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                    f.insert(key.into(), v.clone());
                }
            }
            mapped.push(json!({"type": "function", "function": f}));
        }
        out.insert("tools".into(), Value::Array(mapped));
    }
    if let Some(choice) = req.extra.get("tool_choice") {
        let mapped = match choice.get("name") {
            Some(name) => json!({"type": "function", "function": {"name": name}}),
            None => choice.clone(),
        };
        out.insert("tool_choice".into(), mapped);
    }
    if let Some(format) = req.extra.get("text").and_then(|t| t.get("format")) {
        let mapped = match format.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let mut schema = format.clone();
                if let Some(m) = schema.as_object_mut() {
                    m.remove("type");
                }
                Some(json!({"type": "json_schema", "json_schema": schema}))
            }
            Some("json_object") => Some(json!({"type": "json_object"})),
            Some("text") => None,
            _ => return Err(refused("text".into(), format, TARGET)),
        };
        if let Some(mapped) = mapped {
            out.insert("response_format".into(), mapped);
        }
    }
    if let Some(effort) = req
        .extra
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|e| !e.is_null())
    {
        out.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(verbosity) = req
        .extra
        .get("text")
        .and_then(|t| t.get("verbosity"))
        .filter(|v| !v.is_null())
    {
        out.insert("verbosity".into(), verbosity.clone());
    }
    for key in [
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
        "service_tier",
        "prompt_cache_key",
    ] {
        if let Some(v) = req.extra.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if req.stream == Some(true) {
        out.insert("stream".into(), Value::Bool(true));
    }
    Ok(Value::Object(out))
}

/// A Responses request body as an Anthropic Messages request body, through Chat Completions
/// ([`responses_request_to_chat`], then [`chat_request_to_messages`]). A refusal names the
/// Responses field the client sent (`reasoning`, `text`, `input`), not its chat translation.
pub fn responses_request_to_messages(body: &Value) -> Result<Value, InvalidRequest> {
    let chat = responses_request_to_chat(body)?;
    chat_request_to_messages(&chat).map_err(|e| {
        let param = match e.param() {
            Some("reasoning_effort") => "reasoning",
            Some("response_format" | "verbosity") => "text",
            Some("messages") => "input",
            Some("max_tokens") => "max_output_tokens",
            _ => return e,
        };
        InvalidRequest::new(format!(
            "`{param}` as sent is not supported for this model: its provider speaks Anthropic Messages, which cannot express it ({e})"
        ))
        .with_param(param)
    })
}

/// Appends the chat messages of one Responses input item.
fn input_item(item: &Value, messages: &mut Vec<Value>) -> Result<(), InvalidRequest> {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    match kind {
        "message" => {
            let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
            let content = match item.get("content") {
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(Value::Array(parts)) if role == "assistant" => {
                    Value::String(assistant_text(parts)?)
                }
                Some(Value::Array(parts)) => {
                    Value::Array(parts.iter().map(input_part).collect::<Result<_, _>>()?)
                }
                _ => Value::String(String::new()),
            };
            messages.push(json!({"role": role, "content": content}));
        }
        "function_call" => {
            let call = json!({"id": item.get("call_id"), "type": "function", "function": {
                "name": item.get("name"), "arguments": item.get("arguments").cloned().unwrap_or_else(|| Value::from("{}"))}});
            // Consecutive calls are one assistant turn.
            match messages.last_mut() {
                Some(last) if last["role"] == "assistant" && last.get("tool_calls").is_some() => {
                    if let Some(calls) = last["tool_calls"].as_array_mut() {
                        calls.push(call);
                    }
                }
                _ => messages
                    .push(json!({"role": "assistant", "content": null, "tool_calls": [call]})),
            }
        }
        "function_call_output" => {
            let output = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => {
                    if let Some(kind) = parts
                        .iter()
                        .filter_map(|p| p.get("type").and_then(Value::as_str))
                        .find(|k| !matches!(*k, "input_text" | "output_text" | "text"))
                    {
                        return Err(refused_part(
                            "input",
                            &format!("an `{kind}` part in a function call output"),
                            TARGET,
                        ));
                    }
                    text_of(&Value::Array(parts.clone()))
                }
                Some(v) => text_of(v),
                None => String::new(),
            };
            messages.push(
                json!({"role": "tool", "tool_call_id": item.get("call_id"), "content": output}),
            );
        }
        "reasoning" => {} // the chat provider cannot use another model's reasoning
        other => {
            return Err(InvalidRequest::new(format!(
                "input items of type `{other}` are not supported for this model: its provider has no Responses API"
            ))
            .with_param("input"));
        }
    }
    Ok(())
}

/// The text of an assistant message's parts: `output_text`, and a `refusal` as its text.
fn assistant_text(parts: &[Value]) -> Result<String, InvalidRequest> {
    let mut text = Vec::new();
    for p in parts {
        match p.get("type").and_then(Value::as_str).unwrap_or("untyped") {
            "output_text" | "input_text" | "text" => {
                text.extend(p.get("text").and_then(Value::as_str));
            }
            "refusal" => text.extend(p.get("refusal").and_then(Value::as_str)),
            other => {
                return Err(refused_part(
                    "input",
                    &format!("an assistant `{other}` part"),
                    TARGET,
                ));
            }
        }
    }
    Ok(text.join("\n"))
}

fn input_part(part: &Value) -> Result<Value, InvalidRequest> {
    let kind = part
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("untyped");
    match kind {
        "input_text" | "output_text" | "text" => {
            Ok(json!({"type": "text", "text": part.get("text").cloned().unwrap_or_default()}))
        }
        "input_image" => {
            let Some(url) = part.get("image_url").filter(|u| u.is_string()) else {
                return Err(refused_part(
                    "input",
                    "an `input_image` without an `image_url`",
                    TARGET,
                ));
            };
            let mut image = json!({"url": url});
            if let Some(detail) = part.get("detail") {
                image["detail"] = detail.clone();
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        "input_file" if part.get("file_url").is_none() => {
            let mut file = Map::new();
            for key in ["file_data", "file_id", "filename"] {
                if let Some(v) = part.get(key).filter(|v| !v.is_null()) {
                    file.insert(key.into(), v.clone());
                }
            }
            Ok(json!({"type": "file", "file": file}))
        }
        other => Err(refused_part("input", &format!("an `{other}` part"), TARGET)),
    }
}

/// A Chat Completions answer as a Responses response object: the message's text becomes a
/// `message` output item with `output_text`, a refusal a `message` with a `refusal` part, its
/// tool calls `function_call` items, and
/// `finish_reason: length` (or `content_filter`) the status `incomplete`, for the reason
/// `max_output_tokens` (or `content_filter`).
pub fn chat_response_to_responses(body: &Value) -> Result<Value, InvalidRequest> {
    let res = ChatCompletion::deserialize_value(body)?;
    let choice = res.choices.first();
    let mut output = Vec::new();
    if let Some(message) = choice.map(|c| &c.message) {
        let text = message.content.as_ref().map(text_of).unwrap_or_default();
        if !text.is_empty() {
            output.push(message_item(&format!("msg_{}", res.id), &text, "completed"));
        }
        if let Some(refusal) = message.extra.get("refusal").and_then(Value::as_str) {
            output.push(refusal_item(
                &format!("msg_{}_refusal", res.id),
                refusal,
                "completed",
            ));
        }
        for call in message.tool_calls.iter().flatten() {
            let function = call.function.as_ref();
            output.push(function_item(
                call.id.as_deref().unwrap_or_default(),
                function.and_then(|f| f.name.as_deref()).unwrap_or_default(),
                function
                    .and_then(|f| f.arguments.as_deref())
                    .unwrap_or("{}"),
                "completed",
            ));
        }
    }
    let incomplete = choice
        .and_then(|c| c.finish_reason.as_deref())
        .and_then(incomplete_reason);
    let usage = res.usage.map(|u| {
        let cached = u
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        usage_object(u.prompt_tokens, cached, u.completion_tokens)
    });
    let created = body.get("created").and_then(Value::as_u64).unwrap_or(0);
    Ok(response_object(
        &format!("resp_{}", res.id),
        created,
        &res.model,
        output,
        usage,
        incomplete,
    ))
}

/// A `message` output item holding `text`.
pub(crate) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// A `message` output item holding the model's refusal, as a `refusal` part.
pub(crate) fn refusal_item(id: &str, refusal: &str, status: &str) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant",
           "content": [{"type": "refusal", "refusal": refusal}]})
}

/// A `function_call` output item.
pub(crate) fn function_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
           "name": name, "arguments": arguments, "status": status})
}

/// A Responses `usage` object.
pub(crate) fn usage_object(input: u64, cached: u64, output: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
           "total_tokens": input + output})
}

/// Why a response with this chat `finish_reason` is incomplete, as Responses says it: its
/// token limit, or the provider's content filter (a refusal, from Anthropic).
pub(crate) fn incomplete_reason(finish: &str) -> Option<&'static str> {
    match finish {
        "length" => Some("max_output_tokens"),
        "content_filter" => Some("content_filter"),
        _ => None,
    }
}

/// A response object; `usage: None` while in progress, `incomplete` the reason it is.
pub(crate) fn response_object(
    id: &str,
    created: u64,
    model: &str,
    output: Vec<Value>,
    usage: Option<Value>,
    incomplete: Option<&str>,
) -> Value {
    let (status, details) = match (&usage, incomplete) {
        (_, Some(reason)) => ("incomplete", json!({"reason": reason})),
        (Some(_), None) => ("completed", Value::Null),
        (None, None) => ("in_progress", Value::Null),
    };
    json!({
        "id": id, "object": "response", "created_at": created, "status": status, "model": model,
        "output": output, "usage": usage, "error": null, "incomplete_details": details,
        "instructions": null, "metadata": {}, "parallel_tool_calls": true, "temperature": null,
        "top_p": null, "tool_choice": "auto", "tools": [], "text": {"format": {"type": "text"}}
    })
}
