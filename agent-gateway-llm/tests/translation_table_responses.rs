//! The translation table, OpenAI Responses → Chat Completions (a server without the
//! Responses API) and → Anthropic Messages (#13 item 7): one row per case, streamed and not,
//! asserting the exact JSON the provider receives and the exact answer the client gets; each
//! field neither provider can express is refused with a 400 naming the Responses field.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod translation_support;

use agent_gateway_llm::testkit::Script;
use serde_json::{Value, json};
use translation_support::{
    Case, Refused, anthropic_tool, chat_tool, data, gateway, named, run_cases, run_refused,
};

const RESPONSES: &str = "/v1/responses";

/// The flat function tool of a Responses request.
fn responses_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}})
}

/// The response object a translated answer ends as (clock fields removed).
fn response(id: &str, output: Value, usage: Value) -> Value {
    json!({"id": id, "object": "response", "status": "completed", "model": "model-up",
        "output": output, "usage": usage, "error": null, "incomplete_details": null,
        "instructions": null, "metadata": {}, "parallel_tool_calls": true, "temperature": null,
        "top_p": null, "tool_choice": "auto", "tools": [], "text": {"format": {"type": "text"}}})
}

/// `response` as incomplete, for `reason`.
fn incomplete(mut response: Value, reason: &str) -> Value {
    response["status"] = json!("incomplete");
    response["incomplete_details"] = json!({"reason": reason});
    response
}

fn usage(input: u64, cached: u64, output: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output})
}

fn text_item(id: &str, text: &str) -> Value {
    json!({"type": "message", "id": id, "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

fn refusal_item(id: &str, refusal: &str) -> Value {
    json!({"type": "message", "id": id, "status": "completed", "role": "assistant",
        "content": [{"type": "refusal", "refusal": refusal}]})
}

fn call_item(call_id: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "id": format!("fc_{call_id}"), "call_id": call_id,
        "name": "get_weather", "arguments": arguments, "status": "completed"})
}

fn up_chunk(delta: Value, finish: Value) -> String {
    data(
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 7, "model": "model-up",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
    )
}

fn cases() -> Vec<Case> {
    let up = |event: &str, v: Value| named(event, v);
    vec![
        Case {
            name: "responses -> chat, whole: instructions, image, file, a call and its error output, format",
            path: RESPONSES,
            request: json!({"model": "gpt-chat", "instructions": "Be brief.", "max_output_tokens": 80,
            "temperature": 0.3, "store": true, "tool_choice": "auto", "tools": [responses_tool()],
            "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}},
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Look:"},
                    {"type": "input_image", "image_url": "https://img.test/c.png"},
                    {"type": "input_file", "file_id": "file-1"}]},
                {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "Error: timeout"}
            ]}),
            sent: json!({"model": "gpt-up", "max_tokens": 80, "temperature": 0.3, "tool_choice": "auto",
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}},
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "https://img.test/c.png"}},
                    {"type": "file", "file": {"file_id": "file-1"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "Error: timeout"}
            ]}),
            upstream: Script::raw_json(
                json!({"id": "chatcmpl-6", "object": "chat.completion", "created": 7,
                "model": "model-up", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": null, "refusal": "I won't."}}],
                "usage": {"prompt_tokens": 30, "completion_tokens": 3, "total_tokens": 33}}),
            ),
            client: response(
                "resp_chatcmpl-6",
                json!([refusal_item("msg_chatcmpl-6_refusal", "I won't.")]),
                usage(30, 0, 3),
            ),
        },
        Case {
            name: "responses -> chat, streamed: text then a function call",
            path: RESPONSES,
            request: json!({"model": "gpt-chat", "input": "Weather?", "stream": true, "tools": [responses_tool()]}),
            sent: json!({"model": "gpt-up", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "Weather?"}], "tools": [chat_tool()]}),
            upstream: Script::raw_sse([
                up_chunk(json!({"role": "assistant", "content": "Hi"}), Value::Null),
                up_chunk(
                    json!({"tool_calls": [{"index": 0, "id": "call_2", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}),
                    Value::Null,
                ),
                up_chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}),
                    Value::Null,
                ),
                up_chunk(json!({}), json!("tool_calls")),
                data(
                    json!({"id": "chatcmpl-7", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5,
                    "prompt_tokens_details": {"cached_tokens": 2}}}),
                ),
                "data: [DONE]\n\n".to_owned(),
            ]),
            // Checked apart: the event types in order, and the final response.
            client: json!({
                "types": ["response.created", "response.in_progress", "response.output_item.added",
                    "response.content_part.added", "response.output_text.delta", "response.output_text.done",
                    "response.content_part.done", "response.output_item.done", "response.output_item.added",
                    "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                    "response.function_call_arguments.done", "response.output_item.done", "response.completed"],
                "final": response("resp_chatcmpl-7",
                    json!([text_item("msg_0", "Hi"), call_item("call_2", "{\"city\":\"Oslo\"}")]), usage(12, 2, 5)),
            }),
        },
        Case {
            name: "responses -> chat, streamed: a refusal is a message with a refusal part",
            path: RESPONSES,
            request: json!({"model": "gpt-chat", "input": "Bad thing.", "stream": true}),
            sent: json!({"model": "gpt-up", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "Bad thing."}]}),
            upstream: Script::raw_sse([
                up_chunk(
                    json!({"role": "assistant", "content": "", "refusal": null}),
                    Value::Null,
                ),
                up_chunk(json!({"refusal": "I can't"}), Value::Null),
                up_chunk(json!({"refusal": " help."}), Value::Null),
                up_chunk(json!({}), json!("stop")),
                data(
                    json!({"id": "chatcmpl-7", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3}}),
                ),
                "data: [DONE]\n\n".to_owned(),
            ]),
            client: json!({
                "types": ["response.created", "response.in_progress", "response.output_item.added",
                    "response.content_part.added", "response.refusal.delta", "response.refusal.delta",
                    "response.refusal.done", "response.content_part.done", "response.output_item.done",
                    "response.completed"],
                "final": response("resp_chatcmpl-7", json!([refusal_item("msg_0", "I can't help.")]), usage(4, 0, 3)),
            }),
        },
        Case {
            name: "responses -> anthropic, whole: instructions, limit, tool choice and parallel calls",
            path: RESPONSES,
            request: json!({"model": "claude", "instructions": "Be brief.", "max_output_tokens": 64,
                "tools": [responses_tool()], "tool_choice": "required", "parallel_tool_calls": false,
                "input": [{"role": "user", "content": "Hi"}]}),
            sent: json!({"model": "claude-up", "max_tokens": 64, "system": "Be brief.",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                "tools": [anthropic_tool()], "tool_choice": {"type": "any", "disable_parallel_tool_use": true}}),
            upstream: Script::raw_json(
                json!({"id": "msg_5", "type": "message", "role": "assistant",
                "model": "model-up", "stop_reason": "tool_use", "stop_sequence": null,
                "content": [{"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_5", "name": "get_weather", "input": {"city": "Oslo"}}],
                "usage": {"input_tokens": 20, "output_tokens": 8, "cache_read_input_tokens": 4}}),
            ),
            client: response(
                "resp_msg_5",
                json!([
                    text_item("msg_msg_5", "Checking."),
                    call_item("toolu_5", "{\"city\":\"Oslo\"}")
                ]),
                usage(24, 4, 8),
            ),
        },
        Case {
            name: "responses -> anthropic, whole: a refusal is incomplete for content_filter",
            path: RESPONSES,
            request: json!({"model": "claude", "input": "Bad thing."}),
            sent: json!({"model": "claude-up", "max_tokens": 4096,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Bad thing."}]}]}),
            upstream: Script::raw_json(
                json!({"id": "msg_7", "type": "message", "role": "assistant",
                "model": "model-up", "stop_reason": "refusal", "stop_sequence": null,
                "content": [{"type": "text", "text": "No."}], "usage": {"input_tokens": 5, "output_tokens": 2}}),
            ),
            client: incomplete(
                response(
                    "resp_msg_7",
                    json!([text_item("msg_msg_7", "No.")]),
                    usage(5, 0, 2),
                ),
                "content_filter",
            ),
        },
        Case {
            name: "responses -> anthropic, streamed: text",
            path: RESPONSES,
            request: json!({"model": "claude", "input": "Hi", "stream": true}),
            sent: json!({"model": "claude-up", "max_tokens": 4096, "stream": true,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}),
            upstream: Script::raw_sse([
                up(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_6", "type": "message",
                    "role": "assistant", "model": "model-up", "content": [], "usage": {"input_tokens": 6, "output_tokens": 1}}}),
                ),
                up(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
                ),
                up(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Hello"}}),
                ),
                up(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": 0}),
                ),
                up(
                    "message_delta",
                    json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 2}}),
                ),
                up("message_stop", json!({"type": "message_stop"})),
            ]),
            client: json!({
                "types": ["response.created", "response.in_progress", "response.output_item.added",
                    "response.content_part.added", "response.output_text.delta", "response.output_text.done",
                    "response.content_part.done", "response.output_item.done", "response.completed"],
                "final": response("resp_msg_6", json!([text_item("msg_0", "Hello")]), usage(6, 0, 2)),
            }),
        },
    ]
}

/// A Responses stream as the rows check it: its event types in order, and the response of
/// its last event; every event's `type` is its SSE name.
fn responses_view(events: &[Value]) -> Value {
    let types: Vec<Value> = events
        .iter()
        .map(|e| {
            assert_eq!(e["event"], e["data"]["type"], "{e}");
            e["event"].clone()
        })
        .collect();
    let last = events.last().unwrap();
    json!({"types": types, "final": last["data"]["response"]})
}

#[tokio::test]
async fn responses_translate_to_chat_and_to_messages_field_by_field() {
    // Streamed Responses rows are reduced to their event types and final response first.
    let (streamed, whole): (Vec<Case>, Vec<Case>) = cases()
        .into_iter()
        .partition(|c| c.request["stream"] == true);
    run_cases(whole).await;
    let fake = agent_gateway_llm::testkit::FakeProvider::new();
    let client = gateway(&fake);
    for case in streamed {
        let _ = fake.clone().push(case.upstream);
        let res = client.post(case.path).json(&case.request).send().await;
        assert_eq!(res.status(), 200, "{}: {}", case.name, res.text());
        let sent = fake.requests().pop().unwrap().body;
        assert_eq!(sent, case.sent, "{}: what the provider received", case.name);
        let got = responses_view(&translation_support::events(res.text()));
        assert_eq!(got, case.client, "{}: what the client got", case.name);
    }
}

#[tokio::test]
async fn responses_fields_neither_provider_can_express_are_refused_by_name() {
    let body = |model: &str, extra: Value| {
        let mut body = json!({"model": model, "input": "hi"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let part =
        |model: &str, p: Value| body(model, json!({"input": [{"role": "user", "content": [p]}]}));
    let row = |name, request, param| Refused {
        name,
        path: RESPONSES,
        request,
        param,
    };
    let mut rows = Vec::new();
    for model in ["gpt-chat", "claude"] {
        rows.extend([
            row(
                "reasoning summary",
                body(
                    model,
                    json!({"reasoning": {"effort": "low", "summary": "auto"}}),
                ),
                "reasoning",
            ),
            row(
                "include",
                body(model, json!({"include": ["reasoning.encrypted_content"]})),
                "include",
            ),
            row(
                "top_logprobs",
                body(model, json!({"top_logprobs": 3})),
                "top_logprobs",
            ),
            row(
                "max_tool_calls",
                body(model, json!({"max_tool_calls": 2})),
                "max_tool_calls",
            ),
            row(
                "prompt template",
                body(model, json!({"prompt": {"id": "pmpt_1"}})),
                "prompt",
            ),
            row(
                "automatic truncation",
                body(model, json!({"truncation": "auto"})),
                "truncation",
            ),
            row(
                "previous_response_id",
                body(model, json!({"previous_response_id": "resp_1"})),
                "previous_response_id",
            ),
            row(
                "file by url",
                part(
                    model,
                    json!({"type": "input_file", "file_url": "https://f.test/a.pdf"}),
                ),
                "input",
            ),
            row(
                "built-in tool",
                body(model, json!({"tools": [{"type": "web_search"}]})),
                "tools",
            ),
            row(
                "image in a call output",
                body(
                    model,
                    json!({"input": [{"type": "function_call_output", "call_id": "c",
                "output": [{"type": "input_image", "image_url": "https://img.test/x.png"}]}]}),
                ),
                "input",
            ),
        ]);
    }
    // What Chat Completions expresses and Anthropic does not, named as the Responses field.
    rows.extend([
        row(
            "reasoning effort, to anthropic",
            body("claude", json!({"reasoning": {"effort": "high"}})),
            "reasoning",
        ),
        row(
            "json format, to anthropic",
            body(
                "claude",
                json!({"text": {"format": {"type": "json_object"}}}),
            ),
            "text",
        ),
        row(
            "verbosity, to anthropic",
            body("claude", json!({"text": {"verbosity": "low"}})),
            "text",
        ),
        row(
            "temperature above 1, to anthropic",
            body("claude", json!({"temperature": 1.5})),
            "temperature",
        ),
        row(
            "file by id, to anthropic",
            part("claude", json!({"type": "input_file", "file_id": "file-1"})),
            "input",
        ),
    ]);
    run_refused(rows).await;
}
