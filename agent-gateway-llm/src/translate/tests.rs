use serde_json::json;

use super::*;

#[test]
fn chat_conversation_with_tools_becomes_alternating_messages() {
    let chat = json!({"model": "m", "max_completion_tokens": 20, "temperature": 0.2, "stop": "END", "n": 1,
    "tool_choice": "required",
    "messages": [
        {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
        {"role": "user", "content": [{"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
            {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": "two"},
        {"role": "user", "content": "and?"}
    ]});
    let m = chat_request_to_messages(&chat).unwrap();
    assert_eq!(m["system"], "rules");
    assert_eq!(
        (m["max_tokens"].as_u64(), m["temperature"].as_f64()),
        (Some(20), Some(0.2))
    );
    assert_eq!(m["stop_sequences"], json!(["END"]));
    assert_eq!(m["tool_choice"], json!({"type": "any"}));
    assert!(m.get("n").is_none());
    let msgs = m["messages"].as_array().unwrap();
    let roles: Vec<_> = msgs.iter().map(|x| x["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(
        msgs[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "AAAA"})
    );
    assert_eq!(msgs[1]["content"][0]["input"], json!({"a": 1}));
    assert_eq!(msgs[1]["content"][1]["input"], json!({}));
    assert_eq!(
        msgs[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "c1", "content": "one"})
    );
    assert_eq!(msgs[2]["content"][1]["tool_use_id"], "c2");
    assert_eq!(
        msgs[2]["content"][2],
        json!({"type": "text", "text": "and?"})
    );
}

#[test]
fn messages_conversation_becomes_chat_and_answers_map_back() {
    let req = json!({"model": "c", "max_tokens": 30, "system": [{"type": "text", "text": "sys"}], "top_k": 5,
    "tool_choice": {"type": "tool", "name": "f"},
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
    "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "tu", "name": "f", "input": {"x": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu", "content": [{"type": "text", "text": "42"}]},
            {"type": "text", "text": "thanks"}]}
    ]});
    let chat = messages_request_to_chat(&req).unwrap();
    assert_eq!(chat["max_completion_tokens"], 30);
    assert!(chat.get("top_k").is_none());
    assert_eq!(
        chat["tools"][0]["function"]["parameters"],
        json!({"type": "object"})
    );
    assert_eq!(chat["tool_choice"]["function"]["name"], "f");
    let msgs = chat["messages"].as_array().unwrap();
    assert_eq!(msgs[0], json!({"role": "system", "content": "sys"}));
    assert_eq!(
        msgs[2]["tool_calls"][0]["function"]["arguments"],
        "{\"x\":1}"
    );
    assert_eq!(
        msgs[3],
        json!({"role": "tool", "tool_call_id": "tu", "content": "42"})
    );
    assert_eq!(msgs[4]["content"][0]["text"], "thanks");

    let answer = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "partial"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14, "prompt_tokens_details": {"cached_tokens": 6}}});
    let m = chat_response_to_messages(&answer).unwrap();
    assert_eq!(m["content"], json!([{"type": "text", "text": "partial"}]));
    assert_eq!(m["stop_reason"], "max_tokens");
    assert_eq!(
        (
            m["usage"]["input_tokens"].as_u64(),
            m["usage"]["cache_read_input_tokens"].as_u64()
        ),
        (Some(4), Some(6))
    );

    let back = messages_response_to_chat(&m).unwrap();
    assert_eq!(back["usage"]["prompt_tokens"], 10);
    assert_eq!(back["choices"][0]["finish_reason"], "length");
    assert_eq!(back["choices"][0]["message"]["content"], "partial");
}
