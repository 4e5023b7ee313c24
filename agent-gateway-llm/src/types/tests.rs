use serde_json::{Value, json};

use super::*;

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(wire: Value) -> T {
    let parsed: T = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
    parsed
}

#[test]
fn chat_request_keeps_unknown_fields_at_every_level() {
    let req: ChatCompletionRequest = round_trip(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief", "name": "sys", "x_vendor": {"a": 1}},
            {"role": "assistant", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}", "x_f": true}, "x_tc": 2}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": true}, "x_tool": 3}],
        "stream": true,
        "stream_options": {"include_usage": false, "include_obfuscation": true},
        "max_completion_tokens": 7,
        "future_field": [1, 2, 3]
    }));
    assert_eq!(req.messages.len(), 3);
    assert_eq!(req.extra["future_field"], json!([1, 2, 3]));
    assert_eq!(req.stream_options.unwrap().include_usage, Some(false));
    let call = &req.messages[1].tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.as_ref().unwrap().extra["x_f"], true);
    assert_eq!(req.messages[1].content, None);
    // `content: null` parses, and is written back as absent, which providers treat alike.
    let null: ChatMessage =
        serde_json::from_value(json!({"role": "assistant", "content": null})).unwrap();
    assert_eq!(
        serde_json::to_value(null).unwrap(),
        json!({"role": "assistant"})
    );
}

#[test]
fn chat_completion_and_chunks_keep_provider_fields() {
    let done: ChatCompletion = round_trip(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi", "refusal": "no", "annotations": []},
                     "finish_reason": "stop", "logprobs": {"x": 1}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                  "prompt_tokens_details": {"cached_tokens": 1, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
        "system_fingerprint": "fp", "service_tier": "default"
    }));
    let usage = done.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 2));
    assert_eq!(usage.prompt_tokens_details.unwrap().cached_tokens, Some(1));
    assert_eq!(done.extra["system_fingerprint"], "fp");

    let chunk: ChatCompletionChunk = round_trip(json!({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt",
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a"}}]},
                     "finish_reason": "tool_calls", "logprobs": null}],
        "obfuscation": "xyz"
    }));
    assert_eq!(
        chunk.choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
    assert_eq!(chunk.extra["obfuscation"], "xyz");
}

#[test]
fn messages_request_and_response_keep_unknown_fields() {
    let req: MessagesRequest = round_trip(json!({
        "model": "claude", "max_tokens": 100,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "AA=="}}]}],
        "tools": [{"name": "t", "input_schema": {"type": "object"}, "strict": true}],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}
    }));
    assert_eq!(req.max_tokens, 100);
    assert_eq!(req.extra["thinking"]["type"], "adaptive");
    assert_eq!(req.tools.unwrap()[0].extra["strict"], true);

    let res: MessagesResponse = round_trip(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{"type": "text", "text": "hi", "citations": []},
                    {"type": "tool_use", "id": "tu_1", "name": "t", "input": {"q": 1}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 4, "service_tier": "standard"}
    }));
    assert_eq!(res.usage.cache_read_input_tokens, Some(4));
    assert_eq!(res.content[1].input, Some(json!({"q": 1})));
    assert_eq!(res.usage.extra["service_tier"], "standard");
}

#[test]
fn stream_events_parse_by_type() {
    let start: MessagesStreamEvent = serde_json::from_value(json!({
        "type": "message_start",
        "message": {"id": "msg", "type": "message", "role": "assistant", "model": "c", "content": [],
                    "usage": {"input_tokens": 12, "output_tokens": 1}}
    }))
    .unwrap();
    let MessagesStreamEvent::MessageStart { message } = start else {
        panic!("{start:?}")
    };
    assert_eq!(message.usage.input_tokens, 12);
    let delta: MessagesStreamEvent = serde_json::from_value(json!({
        "type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
        "usage": {"output_tokens": 6}
    }))
    .unwrap();
    let MessagesStreamEvent::MessageDelta { delta, usage } = delta else {
        panic!()
    };
    assert_eq!(
        (delta.stop_reason.as_deref(), usage.output_tokens),
        (Some("end_turn"), 6)
    );
    let unknown: MessagesStreamEvent =
        serde_json::from_value(json!({"type": "brand_new"})).unwrap();
    assert_eq!(unknown, MessagesStreamEvent::Unknown);
}

#[test]
fn responses_and_models_keep_unknown_fields() {
    let req: ResponsesRequest = round_trip(json!({
        "model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "instructions": "be nice", "reasoning": {"effort": "low"}, "store": false
    }));
    assert_eq!(req.extra["store"], false);
    let res: ResponseObject = round_trip(json!({
        "id": "resp_1", "object": "response", "status": "completed", "output": [{"type": "message"}],
        "usage": {"input_tokens": 9, "output_tokens": 4, "total_tokens": 13,
                  "input_tokens_details": {"cached_tokens": 2}, "output_tokens_details": {"reasoning_tokens": 0}}
    }));
    let usage = res.usage.unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (9, 4));
    let list: ModelList = round_trip(json!({"object": "list", "data": [
        {"id": "fast", "object": "model", "owned_by": "gw", "created": 0}
    ]}));
    assert_eq!(list.data[0].extra["created"], 0);
}
