//! The translation table's refusals, Chat Completions ↔ Anthropic Messages (#13 item 7): one
//! row per field or part the other dialect cannot express, streamed or not; each is a 400 in
//! the client's dialect naming it, and the provider is never called.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod translation_support;

use serde_json::{Value, json};
use translation_support::{Refused, chat_tool, run_refused};

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";

#[tokio::test]
async fn what_the_other_dialect_cannot_express_is_refused_naming_the_field() {
    let chat = |extra: Value| {
        let mut body = json!({"model": "claude", "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let user = |part: Value| chat(json!({"messages": [{"role": "user", "content": [part]}]}));
    let messages = |extra: Value| {
        let mut body = json!({"model": "gpt", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let block = |b: Value| messages(json!({"messages": [{"role": "user", "content": [b]}]}));
    let row = |name, path, request, param| Refused {
        name,
        path,
        request,
        param,
    };
    run_refused(vec![
        // An OpenAI client, to an Anthropic provider.
        row("n = 2", CHAT, chat(json!({"n": 2})), "n"),
        row("n = 2, streamed", CHAT, chat(json!({"n": 2, "stream": true})), "n"),
        row("logprobs", CHAT, chat(json!({"logprobs": true, "top_logprobs": 2})), "logprobs"),
        row("seed", CHAT, chat(json!({"seed": 7})), "seed"),
        row("frequency_penalty", CHAT, chat(json!({"frequency_penalty": 0.5})), "frequency_penalty"),
        row("presence_penalty", CHAT, chat(json!({"presence_penalty": -1})), "presence_penalty"),
        row("logit_bias", CHAT, chat(json!({"logit_bias": {"50256": -100}})), "logit_bias"),
        row("response_format", CHAT, chat(json!({"response_format": {"type": "json_object"}})), "response_format"),
        row("reasoning_effort", CHAT, chat(json!({"reasoning_effort": "high"})), "reasoning_effort"),
        row("temperature above Anthropic's 1", CHAT, chat(json!({"temperature": 1.5})), "temperature"),
        row("store", CHAT, chat(json!({"store": true})), "store"),
        row("audio output", CHAT, chat(json!({"modalities": ["text", "audio"]})), "modalities"),
        row("service_tier flex", CHAT, chat(json!({"service_tier": "flex"})), "service_tier"),
        row("an unknown field", CHAT, chat(json!({"x_vendor_knob": 1})), "x_vendor_knob"),
        row("input_audio part", CHAT, user(json!({"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}})), "messages"),
        row("file by id", CHAT, user(json!({"type": "file", "file": {"file_id": "file-1"}})), "messages"),
        row("custom tool", CHAT, chat(json!({"tools": [{"type": "custom", "custom": {"name": "sh"}}]})), "tools"),
        row("allowed_tools choice", CHAT, chat(json!({"tools": [chat_tool()],
            "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": []}}})), "tool_choice"),
        row("legacy function role", CHAT, chat(json!({"messages": [{"role": "function", "name": "f", "content": "x"}]})), "messages"),
        // An Anthropic client, to an OpenAI provider.
        row("top_k", MESSAGES, messages(json!({"top_k": 5})), "top_k"),
        row("thinking", MESSAGES, messages(json!({"thinking": {"type": "enabled", "budget_tokens": 1024}})), "thinking"),
        row("thinking, streamed", MESSAGES, messages(json!({"thinking": {"type": "adaptive"}, "stream": true})), "thinking"),
        row("output_config", MESSAGES, messages(json!({"output_config": {"effort": "low"}})), "output_config"),
        row("metadata beyond user_id", MESSAGES, messages(json!({"metadata": {"user_id": "u", "x": 1}})), "metadata"),
        row("server tool", MESSAGES, messages(json!({"tools": [{"type": "bash_20250124", "name": "bash"}]})), "tools"),
        row("image in a tool result", MESSAGES, block(json!({"type": "tool_result", "tool_use_id": "t",
            "content": [{"type": "image", "source": {"type": "url", "url": "https://img.test/x.png"}}]})), "messages"),
        row("document with citations", MESSAGES, block(json!({"type": "document", "citations": {"enabled": true},
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}})), "messages"),
        row("cited text", MESSAGES, block(json!({"type": "text", "text": "x", "citations": [{"type": "char_location"}]})), "messages"),
        row("search result block", MESSAGES, block(json!({"type": "search_result", "source": "s", "title": "t", "content": []})), "messages"),
        row("image by file id", MESSAGES, block(json!({"type": "image", "source": {"type": "file", "file_id": "f"}})), "messages"),
        row("server tool use in history", MESSAGES, messages(json!({"messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}]}]})), "messages"),
    ])
    .await;
}
