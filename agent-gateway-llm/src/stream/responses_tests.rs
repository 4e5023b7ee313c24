use std::collections::VecDeque;

use bytes::Bytes;
use serde_json::{Value, json};

use agent_gateway_core::sse::Event;

use super::translate_tests::{CHAT, Chunks, cut, events_of, json_of};
use super::*;

#[tokio::test]
async fn chat_chunks_become_responses_events_however_the_stream_is_cut() {
    let (first, _) = events_of(SseTransform::new(cut(CHAT, 4096), ChatToResponses::new())).await;
    for n in [1, 4, 61] {
        let (text, _) = events_of(SseTransform::new(cut(CHAT, n), ChatToResponses::new())).await;
        assert_eq!(text, first, "cut every {n} bytes");
    }
    let (text, events) = events_of(SseTransform::new(cut(CHAT, 13), ChatToResponses::new())).await;
    let v: Vec<Value> = events.iter().map(json_of).collect();
    for (n, (e, v)) in events.iter().zip(&v).enumerate() {
        assert_eq!(
            Some(v["type"].as_str().unwrap()),
            e.event.as_deref(),
            "{text}"
        );
        assert_eq!(v["sequence_number"], n, "{text}");
    }
    let names: Vec<&str> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(v[0]["response"]["status"], "in_progress");
    assert_eq!(v[0]["response"]["id"], "resp_chatcmpl-1");
    assert_eq!(v[4]["delta"], "hé");
    assert_eq!(v[6]["text"], "héllo");
    assert_eq!(v[12]["arguments"], "{\"a\":1}");
    assert_eq!(
        (
            v[14]["output_index"].as_u64(),
            v[14]["item"]["call_id"].as_str()
        ),
        (Some(2), Some("call_2"))
    );
    let done = &v[18]["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "héllo");
    assert_eq!(
        done["output"][1],
        json!({"type": "function_call", "id": "fc_call_1", "call_id": "call_1", "name": "f", "arguments": "{\"a\":1}", "status": "completed"})
    );
    assert_eq!(done["output"][2]["arguments"], "{}");
    assert_eq!(done["usage"]["input_tokens"], 20);
    assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 4);
    assert_eq!(done["usage"]["output_tokens"], 9);
}

#[tokio::test]
async fn a_cut_or_failing_chat_stream_ends_with_a_responses_error_event() {
    let cut_at = CHAT
        .find("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},")
        .unwrap();
    let (_, events) = events_of(SseTransform::new(
        cut(&CHAT[..cut_at], 30),
        ChatToResponses::new(),
    ))
    .await;
    let last = json_of(events.last().unwrap());
    assert_eq!(
        (last["type"].as_str(), last["code"].as_str()),
        (Some("error"), Some("server_error"))
    );
    assert!(
        !events
            .iter()
            .any(|e| e.event_type() == "response.completed")
    );

    let mut parts: VecDeque<Result<Bytes, &str>> = VecDeque::new();
    parts.push_back(Ok(Bytes::from_static(
        b"data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
    )));
    parts.push_back(Err("reset"));
    let (text, events) = events_of(SseTransform::new(Chunks(parts), ChatToResponses::new())).await;
    assert_eq!(events.last().unwrap().event_type(), "error", "{text}");
    assert!(!text.contains("reset"), "{text}");

    // A token limit: response.incomplete.
    let length = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";
    let (_, events) = events_of(SseTransform::new(cut(length, 8), ChatToResponses::new())).await;
    let last = json_of(events.last().unwrap());
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
}
