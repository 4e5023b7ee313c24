//! The translation table, Chat Completions ↔ Anthropic Messages (#13 item 7): one row per
//! case, both directions, streamed and not. Each row asserts the exact JSON the provider
//! receives (system prompts, tool calls and results, tool errors, images, stop sequences,
//! token limits, tool choice) and the exact answer the client gets (content, tool calls,
//! finish or stop reason, usage); the fields a dialect cannot express are rows of
//! `translation_refusals.rs`, the Responses rows in `translation_table_responses.rs`.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod translation_support;

use agent_gateway_llm::testkit::Script;
use serde_json::{Value, json};
use translation_support::{Case, anthropic_tool, chat_tool, data, named, run_cases};

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";

/// A chat chunk of the translated stream of message `id`, with `usage: null` when the client
/// asked for the usage chunk.
fn chunk(id: &str, delta: Value, finish: Value, with_usage: bool) -> Value {
    let mut c = json!({"id": id, "object": "chat.completion.chunk", "model": "claude-up",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    if with_usage {
        c["usage"] = Value::Null;
    }
    c
}

/// An upstream chat chunk of completion `id` carrying `delta` (and `finish`).
fn up_chunk(id: &str, delta: Value, finish: Value) -> String {
    data(
        json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
    )
}

fn ev(name: &str, data: Value) -> Value {
    json!({"event": name, "data": data})
}

/// An OpenAI client, served by an Anthropic provider.
fn chat_to_anthropic() -> Vec<Case> {
    let up = |event: &str, v: Value| named(event, v);
    vec![
        Case {
            name: "chat -> anthropic, whole: system, images, tool calls and results, limits, stop, tool choice",
            path: CHAT,
            request: json!({"model": "claude", "max_completion_tokens": 100, "temperature": 0.5,
            "stop": ["END", "STOP"], "tool_choice": "required", "parallel_tool_calls": false,
            "user": "u-1", "n": 1,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object"}, "strict": true}}],
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
                {"role": "user", "content": [{"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                    {"type": "image_url", "image_url": {"url": "https://img.test/a.png"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "timeout"},
                {"role": "assistant", "content": null, "refusal": "I will not."},
                {"role": "user", "content": "Again?"}
            ]}),
            sent: json!({"model": "claude-up", "max_tokens": 100, "system": "Be brief.\nUse tools.",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Look:"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                        {"type": "image", "source": {"type": "url", "url": "https://img.test/a.png"}}]},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "get_weather",
                        "input": {"city": "Oslo"}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "timeout"}]},
                    {"role": "assistant", "content": [{"type": "text", "text": "I will not."}]},
                    {"role": "user", "content": [{"type": "text", "text": "Again?"}]}
                ],
                "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}, "strict": true}],
                "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
                "temperature": 0.5, "stop_sequences": ["END", "STOP"], "metadata": {"user_id": "u-1"}}),
            upstream: Script::raw_json(
                json!({"id": "msg_1", "type": "message", "role": "assistant",
                "model": "claude-up", "stop_reason": "tool_use", "stop_sequence": null,
                "content": [{"type": "thinking", "thinking": "Checking.", "signature": "sig"},
                    {"type": "text", "text": "Calling again."},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}],
                "usage": {"input_tokens": 50, "output_tokens": 20, "cache_creation_input_tokens": 10,
                    "cache_read_input_tokens": 30}}),
            ),
            client: json!({"id": "msg_1", "object": "chat.completion", "model": "claude-up",
                "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Calling again.", "reasoning_content": "Checking.",
                    "tool_calls": [{"id": "toolu_2", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}],
                "usage": {"prompt_tokens": 90, "completion_tokens": 20, "total_tokens": 110,
                    "prompt_tokens_details": {"cached_tokens": 30}}}),
        },
        Case {
            name: "chat -> anthropic, whole: a refusal is content_filter",
            path: CHAT,
            request: json!({"model": "claude", "messages": [{"role": "user", "content": "Do the bad thing."}]}),
            sent: json!({"model": "claude-up", "max_tokens": 4096,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Do the bad thing."}]}]}),
            upstream: Script::raw_json(
                json!({"id": "msg_2", "type": "message", "role": "assistant",
                "model": "claude-up", "stop_reason": "refusal", "stop_sequence": null,
                "content": [{"type": "text", "text": "I can't help with that."}],
                "usage": {"input_tokens": 8, "output_tokens": 6}}),
            ),
            client: json!({"id": "msg_2", "object": "chat.completion", "model": "claude-up",
                "choices": [{"index": 0, "logprobs": null, "finish_reason": "content_filter",
                    "message": {"role": "assistant", "content": "I can't help with that."}}],
                "usage": {"prompt_tokens": 8, "completion_tokens": 6, "total_tokens": 14,
                    "prompt_tokens_details": {"cached_tokens": 0}}}),
        },
        Case {
            name: "chat -> anthropic, streamed: text and a tool call, named tool choice, usage chunk",
            path: CHAT,
            request: json!({"model": "claude", "stream": true, "stream_options": {"include_usage": true},
                "max_tokens": 50, "tools": [chat_tool()],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "messages": [{"role": "user", "content": "Weather in Oslo?"}]}),
            sent: json!({"model": "claude-up", "max_tokens": 50, "stream": true,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}],
                "tools": [anthropic_tool()], "tool_choice": {"type": "tool", "name": "get_weather"}}),
            upstream: Script::raw_sse([
                up(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_3", "type": "message",
                    "role": "assistant", "model": "claude-up", "content": [], "stop_reason": null,
                    "usage": {"input_tokens": 40, "output_tokens": 1, "cache_creation_input_tokens": 5}}}),
                ),
                up(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Let me check."}}),
                ),
                up(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 0}),
                ),
                up(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 1,
                    "content_block": {"type": "tool_use", "id": "toolu_3", "name": "get_weather", "input": {}}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
                ),
                up(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 1}),
                ),
                up(
                    "message_delta",
                    json!({"type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 15}}),
                ),
                up("message_stop", json!({"type": "message_stop"})),
            ]),
            client: json!([
                chunk("msg_3", json!({"role": "assistant", "content": ""}), Value::Null, true),
                chunk("msg_3", json!({"content": "Let me check."}), Value::Null, true),
                chunk("msg_3", json!({"tool_calls": [{"index": 0, "id": "toolu_3", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}}]}), Value::Null, true),
                chunk("msg_3", json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), Value::Null, true),
                chunk("msg_3", json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}), Value::Null, true),
                chunk("msg_3", json!({}), json!("tool_calls"), true),
                {"id": "msg_3", "object": "chat.completion.chunk", "model": "claude-up", "choices": [],
                    "usage": {"prompt_tokens": 45, "completion_tokens": 15, "total_tokens": 60,
                        "prompt_tokens_details": {"cached_tokens": 0}}},
                "[DONE]"
            ]),
        },
        Case {
            name: "chat -> anthropic, streamed: thinking as reasoning_content, context window as length",
            path: CHAT,
            request: json!({"model": "claude", "stream": true, "stop": "END",
                "messages": [{"role": "user", "content": "Think."}]}),
            sent: json!({"model": "claude-up", "max_tokens": 4096, "stream": true, "stop_sequences": ["END"],
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Think."}]}]}),
            upstream: Script::raw_sse([
                up(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_4", "type": "message",
                    "role": "assistant", "model": "claude-up", "content": [], "usage": {"input_tokens": 9, "output_tokens": 1}}}),
                ),
                up(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": "Hmm."}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "signature_delta", "signature": "sig"}}),
                ),
                up(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 0}),
                ),
                up(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 1,
                    "content_block": {"type": "text", "text": ""}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "text_delta", "text": "So"}}),
                ),
                up(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 1}),
                ),
                up(
                    "message_delta",
                    json!({"type": "message_delta",
                    "delta": {"stop_reason": "model_context_window_exceeded"}, "usage": {"output_tokens": 3}}),
                ),
                up("message_stop", json!({"type": "message_stop"})),
            ]),
            client: json!([
                chunk(
                    "msg_4",
                    json!({"role": "assistant", "content": ""}),
                    Value::Null,
                    false
                ),
                chunk(
                    "msg_4",
                    json!({"reasoning_content": "Hmm."}),
                    Value::Null,
                    false
                ),
                chunk("msg_4", json!({"content": "So"}), Value::Null, false),
                chunk("msg_4", json!({}), json!("length"), false),
                "[DONE]"
            ]),
        },
    ]
}

/// An Anthropic client, served by an OpenAI provider.
fn anthropic_to_chat() -> Vec<Case> {
    let start = |id: &str| {
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message",
            "role": "assistant", "model": "gpt-up", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}),
        )
    };
    let block_start = |index: u64, block: Value| {
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        )
    };
    let delta = |index: u64, delta: Value| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let block_stop = |index: u64| {
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        )
    };
    let end = |stop: &str, input: u64, output: u64| {
        [
            ev(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"input_tokens": input, "output_tokens": output, "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0}}),
            ),
            ev("message_stop", json!({"type": "message_stop"})),
        ]
    };
    let usage_chunk = |id: &str, prompt: u64, completion: u64| {
        data(
            json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": "gpt-up", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}),
        )
    };
    let [refusal_end, refusal_stop] = end("refusal", 9, 4);
    let [tool_end, tool_stop] = end("tool_use", 11, 7);
    vec![
        Case {
            name: "anthropic -> chat, whole: system blocks, images, earlier thinking, tool results and a tool error",
            path: MESSAGES,
            request: json!({"model": "gpt", "max_tokens": 200, "temperature": 0.2, "stop_sequences": ["END"],
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "metadata": {"user_id": "u-2"}, "tools": [anthropic_tool()],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Look:"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}},
                    {"type": "image", "source": {"type": "url", "url": "https://img.test/b.png"}}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
                        "content": [{"type": "text", "text": "city not found"}]},
                    {"type": "text", "text": "And now?"}]}
            ]}),
            sent: json!({"model": "gpt-up", "max_completion_tokens": 200, "temperature": 0.2, "stop": ["END"],
            "user": "u-2", "tools": [chat_tool()],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}},
                    {"type": "image_url", "image_url": {"url": "https://img.test/b.png"}}]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "12C"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "Error: city not found"},
                {"role": "user", "content": [{"type": "text", "text": "And now?"}]}
            ]}),
            upstream: Script::raw_json(
                json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                "model": "gpt-up", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Rome is unknown.", "refusal": null, "tool_calls": [
                        {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
                "usage": {"prompt_tokens": 60, "completion_tokens": 12, "total_tokens": 72,
                    "prompt_tokens_details": {"cached_tokens": 20}}}),
            ),
            client: json!({"id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-up",
                "content": [{"type": "text", "text": "Rome is unknown."},
                    {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {"city": "Paris"}}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 40, "output_tokens": 12, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 20}}),
        },
        Case {
            name: "anthropic -> chat, whole: a refusal is a text block with stop_reason refusal",
            path: MESSAGES,
            request: json!({"model": "gpt", "max_tokens": 10, "messages": [{"role": "user", "content": "Bad thing."}]}),
            sent: json!({"model": "gpt-up", "max_completion_tokens": 10,
                "messages": [{"role": "user", "content": "Bad thing."}]}),
            upstream: Script::raw_json(
                json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1,
                "model": "gpt-up", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": null, "refusal": "I can't."}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
            ),
            client: json!({"id": "chatcmpl-2", "type": "message", "role": "assistant", "model": "gpt-up",
                "content": [{"type": "text", "text": "I can't."}], "stop_reason": "refusal", "stop_sequence": null,
                "usage": {"input_tokens": 5, "output_tokens": 3, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0}}),
        },
        Case {
            name: "anthropic -> chat, streamed: a streamed refusal",
            path: MESSAGES,
            request: json!({"model": "gpt", "max_tokens": 20, "stream": true,
                "messages": [{"role": "user", "content": "Bad thing."}]}),
            sent: json!({"model": "gpt-up", "max_completion_tokens": 20, "stream": true,
                "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "Bad thing."}]}),
            upstream: Script::raw_sse([
                up_chunk(
                    "chatcmpl-3",
                    json!({"role": "assistant", "content": "", "refusal": null}),
                    Value::Null,
                ),
                up_chunk("chatcmpl-3", json!({"refusal": "I can't"}), Value::Null),
                up_chunk("chatcmpl-3", json!({"refusal": " help."}), Value::Null),
                up_chunk("chatcmpl-3", json!({}), json!("stop")),
                usage_chunk("chatcmpl-3", 9, 4),
                "data: [DONE]\n\n".to_owned(),
            ]),
            client: json!([
                start("chatcmpl-3"),
                block_start(0, json!({"type": "text", "text": ""})),
                delta(0, json!({"type": "text_delta", "text": "I can't"})),
                delta(0, json!({"type": "text_delta", "text": " help."})),
                block_stop(0),
                refusal_end,
                refusal_stop,
            ]),
        },
        Case {
            name: "anthropic -> chat, streamed: text then a tool call, tool choice any",
            path: MESSAGES,
            request: json!({"model": "gpt", "max_tokens": 20, "stream": true, "tools": [anthropic_tool()],
                "tool_choice": {"type": "any"}, "messages": [{"role": "user", "content": "Weather?"}]}),
            sent: json!({"model": "gpt-up", "max_completion_tokens": 20, "stream": true,
                "stream_options": {"include_usage": true}, "tools": [chat_tool()], "tool_choice": "required",
                "messages": [{"role": "user", "content": "Weather?"}]}),
            upstream: Script::raw_sse([
                up_chunk(
                    "chatcmpl-4",
                    json!({"role": "assistant", "content": "On it."}),
                    Value::Null,
                ),
                up_chunk(
                    "chatcmpl-4",
                    json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}}]}),
                    Value::Null,
                ),
                up_chunk(
                    "chatcmpl-4",
                    json!({"tool_calls": [{"index": 0,
                    "function": {"arguments": "{\"city\":\"Oslo\"}"}}]}),
                    Value::Null,
                ),
                up_chunk("chatcmpl-4", json!({}), json!("tool_calls")),
                usage_chunk("chatcmpl-4", 11, 7),
                "data: [DONE]\n\n".to_owned(),
            ]),
            client: json!([
                start("chatcmpl-4"),
                block_start(0, json!({"type": "text", "text": ""})),
                delta(0, json!({"type": "text_delta", "text": "On it."})),
                block_stop(0),
                block_start(
                    1,
                    json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}})
                ),
                delta(
                    1,
                    json!({"type": "input_json_delta", "partial_json": "{\"city\":\"Oslo\"}"})
                ),
                block_stop(1),
                tool_end,
                tool_stop,
            ]),
        },
    ]
}

#[tokio::test]
async fn chat_and_messages_translate_field_by_field_both_ways() {
    run_cases(chat_to_anthropic()).await;
    run_cases(anthropic_to_chat()).await;
}
