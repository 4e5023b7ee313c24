//! Chat Completions → Anthropic Messages (requests), and a chat answer → a Messages answer.

use serde_json::{Map, Value, json};

use super::fields::{self, Accept, any, is_false, is_zero, only, refused, refused_part};
use super::{DEFAULT_MAX_TOKENS, text_of};
use crate::error::InvalidRequest;
use crate::stream::stop_reason;
use crate::types::{ChatCompletion, ChatCompletionRequest, ChatMessage};

fn invalid(e: serde_json::Error) -> InvalidRequest {
    InvalidRequest::new(format!("invalid request body: {e}"))
}

/// The dialect a chat request is translated to, as refusals name it.
const TARGET: &str = "Anthropic Messages";

/// The top-level chat fields an Anthropic provider can serve, and the values it can.
///
/// Translated: the conversation, limits, tools, `tool_choice`, `parallel_tool_calls` (as
/// `disable_parallel_tool_use`), `stop`, `temperature` (Anthropic's range is 0 to 1),
/// `top_p`, `user`/`safety_identifier` (as `metadata.user_id`), `service_tier`. Accepted as
/// changing nothing in the answer: `stream_options` (the gateway's own), `metadata` (kept only
/// by a store, refused), the prompt-cache hints, defaults (`n: 1`, zero penalties,
/// `logprobs: false`, a `text` format). Anything else is refused.
const FIELDS: &[(&str, Accept)] = &[
    any("model"),
    any("messages"),
    any("stream"),
    any("stream_options"),
    any("max_completion_tokens"),
    any("max_tokens"),
    any("tools"),
    any("tool_choice"),
    any("parallel_tool_calls"),
    any("stop"),
    any("top_p"),
    only("temperature", |v| {
        v.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t))
    }),
    any("user"),
    any("safety_identifier"),
    any("metadata"),
    any("prompt_cache_key"),
    any("prompt_cache_retention"),
    only("n", |v| v.as_u64() == Some(1)),
    only("logprobs", is_false),
    only("frequency_penalty", is_zero),
    only("presence_penalty", is_zero),
    only("store", is_false),
    only("service_tier", |v| {
        matches!(v.as_str(), Some("auto" | "default"))
    }),
    only("response_format", |v| {
        v.get("type").and_then(Value::as_str) == Some("text")
    }),
    only("modalities", |v| v == &json!(["text"])),
];

/// A Chat Completions request body as an Anthropic Messages request body.
///
/// System and developer messages become `system`; tool calls become `tool_use` blocks and tool
/// messages `tool_result` blocks; images become `image` blocks and PDF files `document`
/// blocks; an assistant's `refusal` becomes its text; consecutive messages of one role are
/// merged, as Anthropic requires alternation. `temperature`, `top_p` and `stop` carry over
/// (the provider then sends the `anthropic-version` that allows them). A field or part
/// Anthropic cannot express (`n > 1`, `logprobs`, `seed`, penalties, `response_format`,
/// `reasoning_effort`, audio, custom tools, …) is refused, naming it; nothing is dropped.
pub fn chat_request_to_messages(body: &Value) -> Result<Value, InvalidRequest> {
    fields::check(body, FIELDS, TARGET)?;
    let req = ChatCompletionRequest::deserialize_value(body)?;
    let mut system = Vec::new();
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role.as_str() {
            "system" | "developer" => {
                system.push(system_text(m.content.as_ref())?);
                continue;
            }
            "assistant" => ("assistant", assistant_blocks(m)?),
            "tool" => {
                let result = json!({"type": "tool_result", "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": system_text(m.content.as_ref())?});
                ("user", vec![result])
            }
            "user" => ("user", user_blocks(m.content.as_ref())?),
            _ => {
                return Err(refused_part(
                    "messages",
                    &format!("the role `{}`", m.role),
                    TARGET,
                ));
            }
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
        let tools = tools.iter().map(tool).collect::<Result<Vec<_>, _>>()?;
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = tool_choice(&req)? {
        out.insert("tool_choice".into(), choice);
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.extra.get(key).filter(|v| !v.is_null()) {
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
    let user = ["safety_identifier", "user"]
        .iter()
        .find_map(|k| req.extra.get(*k).filter(|v| v.is_string()));
    if let Some(user) = user {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    match req.extra.get("service_tier").and_then(Value::as_str) {
        Some("auto") => {
            out.insert("service_tier".into(), json!("auto"));
        }
        Some("default") => {
            out.insert("service_tier".into(), json!("standard_only"));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

/// A chat function tool as an Anthropic tool; other tool kinds are refused.
fn tool(t: &crate::types::ChatTool) -> Result<Value, InvalidRequest> {
    let Some(f) = t.function.as_ref().filter(|_| t.kind == "function") else {
        return Err(refused_part(
            "tools",
            &format!("a `{}` tool", t.kind),
            TARGET,
        ));
    };
    let mut out = json!({"name": f.name, "input_schema": f.parameters.clone().unwrap_or_else(|| json!({"type": "object"}))});
    if let Some(d) = &f.description {
        out["description"] = Value::String(d.clone());
    }
    if let Some(strict) = f.extra.get("strict").filter(|v| v.is_boolean()) {
        out["strict"] = strict.clone();
    }
    Ok(out)
}

/// `tool_choice` and `parallel_tool_calls` as Anthropic's `tool_choice`.
fn tool_choice(req: &ChatCompletionRequest) -> Result<Option<Value>, InvalidRequest> {
    let mut mapped = match &req.tool_choice {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.as_str() {
            "none" => Some(json!({"type": "none"})),
            "required" => Some(json!({"type": "any"})),
            "auto" => Some(json!({"type": "auto"})),
            _ => {
                return Err(refused(
                    "tool_choice".into(),
                    &Value::String(s.clone()),
                    TARGET,
                ));
            }
        },
        Some(other) => match other.pointer("/function/name") {
            Some(name) if other.get("type").and_then(Value::as_str) == Some("function") => {
                Some(json!({"type": "tool", "name": name}))
            }
            _ => return Err(refused("tool_choice".into(), other, TARGET)),
        },
    };
    if req.extra.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
        let choice = mapped.get_or_insert_with(|| json!({"type": "auto"}));
        if choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    Ok(mapped)
}

/// The text of a system, developer or tool message: a string or `text` parts.
fn system_text(content: Option<&Value>) -> Result<String, InvalidRequest> {
    let parts = content.and_then(Value::as_array).into_iter().flatten();
    if let Some(part) = parts
        .into_iter()
        .find(|p| p.get("type").and_then(Value::as_str) != Some("text"))
    {
        let kind = part
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("untyped");
        return Err(refused_part(
            "messages",
            &format!("a `{kind}` part outside a user message"),
            TARGET,
        ));
    }
    Ok(content.map(text_of).unwrap_or_default())
}

fn assistant_blocks(m: &ChatMessage) -> Result<Vec<Value>, InvalidRequest> {
    for key in ["audio", "function_call"] {
        if m.extra.get(key).is_some_and(|v| !v.is_null()) {
            return Err(refused_part(
                "messages",
                &format!("an assistant `{key}`"),
                TARGET,
            ));
        }
    }
    let mut blocks = Vec::new();
    let mut text = match m.content.as_ref() {
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for p in parts {
                match p.get("type").and_then(Value::as_str) {
                    Some("text") => texts.extend(p.get("text").and_then(Value::as_str)),
                    Some("refusal") => texts.extend(p.get("refusal").and_then(Value::as_str)),
                    other => {
                        let kind = other.unwrap_or("untyped");
                        return Err(refused_part(
                            "messages",
                            &format!("an assistant `{kind}` part"),
                            TARGET,
                        ));
                    }
                }
            }
            texts.join("\n")
        }
        Some(other) => text_of(other),
        None => String::new(),
    };
    if let Some(refusal) = m.extra.get("refusal").and_then(Value::as_str)
        && text.is_empty()
    {
        text = refusal.to_owned();
    }
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    blocks.extend(tool_use_blocks(m));
    Ok(blocks)
}

/// The tool calls of an assistant message as `tool_use` blocks; arguments that are not a
/// JSON object become `{}`, as Anthropic requires an object.
fn tool_use_blocks(m: &ChatMessage) -> impl Iterator<Item = Value> + '_ {
    m.tool_calls.iter().flatten().map(|call| {
        let f = call.function.as_ref();
        let input = f
            .and_then(|f| f.arguments.as_deref())
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        json!({"type": "tool_use", "id": call.id.clone().unwrap_or_default(),
            "name": f.and_then(|f| f.name.clone()).unwrap_or_default(), "input": input})
    })
}

fn user_blocks(content: Option<&Value>) -> Result<Vec<Value>, InvalidRequest> {
    match content {
        Some(Value::Array(parts)) => parts.iter().map(user_part).collect(),
        Some(other) => Ok(vec![json!({"type": "text", "text": text_of(other)})]),
        None => Ok(Vec::new()),
    }
}

fn user_part(part: &Value) -> Result<Value, InvalidRequest> {
    let kind = part
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("untyped");
    let unsupported = |what: &str| refused_part("messages", what, TARGET);
    match kind {
        "text" => {
            Ok(json!({"type": "text", "text": part.get("text").cloned().unwrap_or_default()}))
        }
        "image_url" => {
            let url = part
                .pointer("/image_url/url")
                .and_then(Value::as_str)
                .ok_or_else(|| unsupported("an `image_url` part without a url"))?;
            let source = match data_url(url) {
                Some((media_type, data)) => {
                    json!({"type": "base64", "media_type": media_type, "data": data})
                }
                None => json!({"type": "url", "url": url}),
            };
            Ok(json!({"type": "image", "source": source}))
        }
        "file" => {
            let pdf = part
                .pointer("/file/file_data")
                .and_then(Value::as_str)
                .and_then(data_url)
                .filter(|(media_type, _)| *media_type == "application/pdf");
            let Some((media_type, data)) = pdf else {
                return Err(unsupported("a `file` part other than inline PDF data"));
            };
            let mut doc = json!({"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}});
            if let Some(name) = part.pointer("/file/filename").filter(|v| v.is_string()) {
                doc["title"] = name.clone();
            }
            Ok(doc)
        }
        other => Err(unsupported(&format!("a `{other}` part"))),
    }
}

/// The media type and base64 data of a `data:` URL.
fn data_url(url: &str) -> Option<(&str, &str)> {
    url.strip_prefix("data:")?.split_once(";base64,")
}

/// A Chat Completions answer as an Anthropic Messages answer.
///
/// The message's text and tool calls become `text` and `tool_use` blocks; a `refusal` becomes
/// the text, with `stop_reason: refusal`. A chat provider's reasoning text
/// (`reasoning_content`) is not shown: the Anthropic client could not have asked for thinking
/// through the translation (`thinking` is refused).
pub fn chat_response_to_messages(body: &Value) -> Result<Value, InvalidRequest> {
    let res = ChatCompletion::deserialize_value(body)?;
    let choice = res.choices.first();
    let mut content = Vec::new();
    let mut refusal = false;
    if let Some(m) = choice.map(|c| &c.message) {
        let mut text = m.content.as_ref().map(text_of).unwrap_or_default();
        if let Some(r) = m.extra.get("refusal").and_then(Value::as_str) {
            refusal = true;
            if text.is_empty() {
                text = r.to_owned();
            }
        }
        if !text.is_empty() {
            content.push(json!({"type": "text", "text": text}));
        }
        content.extend(tool_use_blocks(m));
    }
    let stop = match choice.and_then(|c| c.finish_reason.as_deref()) {
        _ if refusal => "refusal",
        Some(finish) => stop_reason(finish),
        None => "end_turn",
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
