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
    let req = json!({"model": "c", "max_tokens": 30, "system": [{"type": "text", "text": "sys"}],
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
    // `top_k` has no chat equivalent: refused, where it used to be dropped (#13).
    let mut top_k = req.clone();
    top_k["top_k"] = json!(5);
    assert_eq!(
        messages_request_to_chat(&top_k).unwrap_err().param(),
        Some("top_k")
    );
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

#[test]
fn responses_request_becomes_a_chat_request() {
    let req = json!({"model": "m", "instructions": "Be brief.", "max_output_tokens": 30, "stream": true,
    "temperature": 0.1, "reasoning": {"effort": "low"},
    "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}},
    "tool_choice": {"type": "function", "name": "f"},
    "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": null}],
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": "https://x/i.png", "detail": "low"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "calling"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"},
        {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]}
    ]});
    let chat = responses_request_to_chat(&req).unwrap();
    assert_eq!(
        chat,
        json!({"model": "m", "max_tokens": 30, "stream": true, "temperature": 0.1, "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}},
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/i.png", "detail": "low"}}]},
            {"role": "assistant", "content": "calling"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": "two"}
        ]})
    );
    let plain = responses_request_to_chat(&json!({"model": "m", "input": "hi"})).unwrap();
    assert_eq!(
        plain,
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    );
}

#[test]
fn responses_features_a_chat_provider_cannot_serve_are_refused() {
    let refused = [
        (
            json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "m", "input": "hi", "conversation": "conv_1"}),
            "conversation",
        ),
        (
            json!({"model": "m", "input": "hi", "background": true}),
            "background",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}),
            "tools",
        ),
        (
            json!({"model": "m", "input": [{"type": "file_search_call", "id": "x"}]}),
            "input",
        ),
        (json!({"model": "m", "input": 7}), "input"),
    ];
    for (req, param) in refused {
        let err = responses_request_to_chat(&req).unwrap_err();
        assert_eq!(err.param(), Some(param), "{req}");
    }
    assert!(responses_request_to_chat(&json!({"input": "no model"})).is_err());
    // `background: false` is the default, and harmless.
    assert!(
        responses_request_to_chat(&json!({"model": "m", "input": "hi", "background": false}))
            .is_ok()
    );
}

#[test]
fn chat_answer_becomes_a_response_object() {
    let chat = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 5, "model": "gpt-x",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "hmm",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14, "prompt_tokens_details": {"cached_tokens": 6}}});
    let r = chat_response_to_responses(&chat).unwrap();
    assert_eq!(
        (r["id"].as_str(), r["object"].as_str(), r["status"].as_str()),
        (Some("resp_chatcmpl-1"), Some("response"), Some("completed"))
    );
    assert_eq!(
        (r["created_at"].as_u64(), r["model"].as_str()),
        (Some(5), Some("gpt-x"))
    );
    assert_eq!(
        r["output"][0]["content"][0],
        json!({"type": "output_text", "text": "hmm", "annotations": []})
    );
    assert_eq!(
        r["output"][1],
        json!({"type": "function_call", "id": "fc_c1", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}", "status": "completed"})
    );
    assert_eq!(
        r["usage"],
        json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 6}, "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 14})
    );
    let cut = json!({"id": "c", "model": "m", "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "tr"}}]});
    let r = chat_response_to_responses(&cut).unwrap();
    assert_eq!(
        (
            r["status"].as_str(),
            r["incomplete_details"]["reason"].as_str()
        ),
        (Some("incomplete"), Some("max_output_tokens"))
    );
    assert!(chat_response_to_responses(&json!({"choices": 3})).is_err());
}
