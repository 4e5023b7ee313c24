//! The fake provider's answers, in each wire format.

use bytes::Bytes;
use serde_json::{Value, json};

use super::script::{Kind, Script};

/// Which API the request addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Chat,
    Responses,
    Messages,
}

/// A rendered answer: status, extra headers, and body frames (one per SSE event).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) stream: bool,
    pub(super) frames: Vec<Bytes>,
}

const CREATED: u64 = 1_700_000_000;

pub(super) fn render(script: &Script, format: Format, req: &Value) -> Answer {
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model")
        .to_owned();
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if let Kind::Error {
        status,
        message,
        retry_after,
    } = &script.kind
    {
        return error(format, *status, message, *retry_after);
    }
    if let Kind::Raw { stream, frames } = &script.kind {
        return Answer {
            status: 200,
            headers: vec![("request-id", "req_fake".to_owned())],
            stream: *stream,
            frames: frames.iter().map(|f| Bytes::from(f.clone())).collect(),
        };
    }
    let frames = match (format, stream) {
        (Format::Chat, false) => vec![json_bytes(&chat(script, &model))],
        (Format::Chat, true) => {
            let usage = req
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            chat_stream(script, &model, usage)
        }
        (Format::Messages, false) => vec![json_bytes(&message(script, &model))],
        (Format::Messages, true) => message_stream(script, &model),
        (Format::Responses, false) => vec![json_bytes(&response(script, &model, "completed"))],
        (Format::Responses, true) => response_stream(script, &model),
    };
    Answer {
        status: 200,
        headers: vec![("request-id", "req_fake".to_owned())],
        stream,
        frames,
    }
}

fn json_bytes(v: &Value) -> Bytes {
    Bytes::from(v.to_string())
}

fn data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

fn named(event: &str, v: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {v}\n\n"))
}

/// `s` in two pieces, cut on a character boundary.
fn halves(s: &str) -> [&str; 2] {
    let mid = s
        .char_indices()
        .nth(s.chars().count() / 2)
        .map_or(s.len(), |(i, _)| i);
    [&s[..mid], &s[mid..]]
}

fn error(format: Format, status: u16, message: &str, retry_after: Option<u64>) -> Answer {
    let kind = match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let body = match format {
        Format::Messages => json!({"type": "error", "error": {"type": kind, "message": message}}),
        _ => {
            json!({"error": {"message": message, "type": if kind == "api_error" { "server_error" } else { kind }, "param": null, "code": null}})
        }
    };
    let mut headers = vec![("request-id", "req_fake".to_owned())];
    if let Some(secs) = retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    Answer {
        status,
        headers,
        stream: false,
        frames: vec![json_bytes(&body)],
    }
}

fn chat_usage(s: &Script) -> Value {
    json!({
        "prompt_tokens": s.input_tokens, "completion_tokens": s.output_tokens,
        "total_tokens": s.input_tokens + s.output_tokens,
        "prompt_tokens_details": {"cached_tokens": s.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}
    })
}

fn chat(s: &Script, model: &str) -> Value {
    let (message, finish) = match &s.kind {
        Kind::ToolCall {
            id,
            name,
            arguments,
        } => (
            json!({"role": "assistant", "content": null, "refusal": null, "annotations": [],
                   "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}]}),
            "tool_calls",
        ),
        Kind::Text(text) => (
            json!({"role": "assistant", "content": text, "refusal": null, "annotations": []}),
            "stop",
        ),
        Kind::Error { .. } | Kind::Raw { .. } => (Value::Null, "stop"),
    };
    json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": chat_usage(s), "system_fingerprint": "fp_fake", "service_tier": "default"
    })
}

fn chat_stream(s: &Script, model: &str, include_usage: bool) -> Vec<Bytes> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        data(&c)
    };
    let mut frames = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    let finish = match &s.kind {
        Kind::ToolCall {
            id,
            name,
            arguments,
        } => {
            frames.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ));
            for piece in halves(&arguments.to_string()) {
                frames.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    Value::Null,
                ));
            }
            "tool_calls"
        }
        Kind::Text(text) => {
            for piece in halves(text) {
                frames.push(chunk(json!({"content": piece}), Value::Null));
            }
            "stop"
        }
        Kind::Error { .. } | Kind::Raw { .. } => "stop",
    };
    frames.push(chunk(json!({}), Value::from(finish)));
    if include_usage {
        frames.push(data(&json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake", "choices": [], "usage": chat_usage(s)
        })));
    }
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn message(s: &Script, model: &str) -> Value {
    let (content, stop) = match &s.kind {
        Kind::ToolCall {
            id,
            name,
            arguments,
        } => (
            json!([{"type": "tool_use", "id": id, "name": name, "input": arguments}]),
            "tool_use",
        ),
        Kind::Text(text) => (json!([{"type": "text", "text": text}]), "end_turn"),
        Kind::Error { .. } | Kind::Raw { .. } => (json!([]), "end_turn"),
    };
    json!({
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": s.cached_tokens}
    })
}

fn message_stream(s: &Script, model: &str) -> Vec<Bytes> {
    let start = json!({"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": s.input_tokens, "output_tokens": 1,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": s.cached_tokens}}});
    let mut frames = vec![named("message_start", &start)];
    let delta = |d: Value| {
        named(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": d}),
        )
    };
    let stop = match &s.kind {
        Kind::ToolCall {
            id,
            name,
            arguments,
        } => {
            frames.push(named(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
            ));
            frames.push(named("ping", &json!({"type": "ping"})));
            for piece in halves(&arguments.to_string()) {
                frames.push(delta(
                    json!({"type": "input_json_delta", "partial_json": piece}),
                ));
            }
            "tool_use"
        }
        Kind::Text(text) => {
            frames.push(named(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ));
            frames.push(named("ping", &json!({"type": "ping"})));
            for piece in halves(text) {
                frames.push(delta(json!({"type": "text_delta", "text": piece})));
            }
            "end_turn"
        }
        Kind::Error { .. } | Kind::Raw { .. } => "end_turn",
    };
    frames.push(named(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    frames.push(named("message_delta", &json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": s.output_tokens}})));
    frames.push(named("message_stop", &json!({"type": "message_stop"})));
    frames
}

fn response(s: &Script, model: &str, status: &str) -> Value {
    let output = match &s.kind {
        Kind::ToolCall {
            id,
            name,
            arguments,
        } => json!([{"type": "function_call", "id": "fc_fake", "call_id": id,
            "name": name, "arguments": arguments.to_string(), "status": "completed"}]),
        Kind::Text(text) => {
            json!([{"type": "message", "id": "msg_fake", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}])
        }
        Kind::Error { .. } | Kind::Raw { .. } => json!([]),
    };
    let done = status == "completed";
    json!({
        "id": "resp_fake", "object": "response", "created_at": CREATED, "status": status, "model": model,
        "output": if done { output } else { json!([]) },
        "usage": if done { json!({"input_tokens": s.input_tokens, "input_tokens_details": {"cached_tokens": s.cached_tokens},
            "output_tokens": s.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": s.input_tokens + s.output_tokens}) } else { Value::Null },
        "error": null, "incomplete_details": null, "instructions": null, "parallel_tool_calls": true,
        "tool_choice": "auto", "tools": [], "text": {"format": {"type": "text"}}
    })
}

fn response_stream(s: &Script, model: &str) -> Vec<Bytes> {
    let mut seq = 0;
    let mut event = |kind: &str, mut v: Value| {
        v["type"] = Value::from(kind);
        v["sequence_number"] = Value::from(seq);
        seq += 1;
        named(kind, &v)
    };
    let mut frames = vec![event(
        "response.created",
        json!({"response": response(s, model, "in_progress")}),
    )];
    if let Kind::Text(text) = &s.kind {
        for piece in halves(text) {
            frames.push(event("response.output_text.delta",
                json!({"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": piece})));
        }
    }
    frames.push(event(
        "response.completed",
        json!({"response": response(s, model, "completed")}),
    ));
    frames
}
