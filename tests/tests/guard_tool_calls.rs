//! A model's tool calls checked against the request's own tool definitions (#15): OpenAI Chat
//! Completions, OpenAI Responses and Anthropic Messages, whole and streamed answers, in warn
//! mode (the answer passes, the mismatch is counted) and enforced (the dialect's denial, or the
//! stream's error event before the call completes, naming the rule and the schema path).

#![allow(clippy::unwrap_used)]

use agent_gateway_core::BoxError;
use agent_gateway_core::UsageReport;
use agent_gateway_core::sse::{Decoder, Event};
use agent_gateway_llm::{Api, Dialect, LlmBody, LlmRequest, LlmResponse};
use agent_gateway_policy::guard::{GuardLayer, Mode, TOOL_CALL_RULE, ToolCallSchemas};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// What `get_weather` takes: a string `city`.
fn schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

/// Where a `{"city": 7}` call fails the schema.
const SCHEMA_PATH: &str = "/properties/city/type";

fn request(api: Api) -> LlmRequest {
    let body = match api {
        Api::ChatCompletions => {
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": schema()}}]})
        }
        Api::Responses => json!({"model": "m", "input": "hi",
            "tools": [{"type": "function", "name": "get_weather", "parameters": schema()}]}),
        _ => {
            json!({"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "get_weather", "input_schema": schema()}]})
        }
    };
    LlmRequest::decode(api, body).unwrap()
}

fn dialect(api: Api) -> Dialect {
    match api {
        Api::Messages => Dialect::Anthropic,
        _ => Dialect::OpenAi,
    }
}

/// A whole answer calling `get_weather` with `args`.
fn answer(api: Api, args: &Value) -> Value {
    match api {
        Api::ChatCompletions => json!({"id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
                "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": args.to_string()}}]}}]}),
        Api::Responses => json!({"id": "r1", "object": "response", "status": "completed",
            "output": [{"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": "get_weather", "arguments": args.to_string()}]}),
        _ => json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "stop_reason": "tool_use", "content": [{"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": args}]}),
    }
}

/// A streamed answer calling `get_weather` with `args`, its arguments cut in two deltas.
/// Returns the stream and the event type that completes the call.
fn stream(api: Api, args: &Value) -> (String, &'static str) {
    let text = args.to_string();
    let (a, b) = text.split_at(text.len() / 2);
    let named = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    match api {
        Api::ChatCompletions => {
            let chunk = |delta: Value, finish: Value| {
                let v = json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
                format!("data: {v}\n\n")
            };
            let call = |first: bool, piece: &str| {
                let mut c = json!({"index": 0, "function": {"arguments": piece}});
                if first {
                    c["id"] = json!("call_1");
                    c["function"]["name"] = json!("get_weather");
                }
                json!({"tool_calls": [c]})
            };
            let sse = chunk(json!({"role": "assistant", "content": "ok"}), Value::Null)
                + &chunk(call(true, a), Value::Null)
                + &chunk(call(false, b), Value::Null)
                + &chunk(json!({}), json!("tool_calls"))
                + "data: [DONE]\n\n";
            (sse, "finish_reason\":\"tool_calls")
        }
        Api::Responses => {
            let ev = |name: &str, mut v: Value, seq: u64| {
                v["type"] = json!(name);
                v["sequence_number"] = json!(seq);
                named(name, v)
            };
            let item = json!({"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": "get_weather", "arguments": ""});
            let mut done = item.clone();
            done["arguments"] = json!(text);
            let sse = ev(
                "response.created",
                json!({"response": {"id": "r1", "output": []}}),
                0,
            ) + &ev(
                "response.output_item.added",
                json!({"output_index": 0, "item": item}),
                1,
            ) + &ev(
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_1", "output_index": 0, "delta": a}),
                2,
            ) + &ev(
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_1", "output_index": 0, "delta": b}),
                3,
            ) + &ev(
                "response.function_call_arguments.done",
                json!({"item_id": "fc_1", "output_index": 0, "arguments": text}),
                4,
            ) + &ev(
                "response.output_item.done",
                json!({"output_index": 0, "item": done}),
                5,
            ) + &ev(
                "response.completed",
                json!({"response": {"id": "r1", "status": "completed", "output": [done]}}),
                6,
            );
            (sse, "response.function_call_arguments.done")
        }
        _ => {
            let sse = named(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1",
                    "type": "message", "role": "assistant", "content": [], "model": "m",
                    "usage": {"input_tokens": 3, "output_tokens": 1}}}),
            ) + &named(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {}}}),
            ) + &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": a}}),
            ) + &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": b}}),
            ) + &named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ) + &named(
                "message_delta",
                json!({"type": "message_delta",
                    "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
            ) + &named("message_stop", json!({"type": "message_stop"}));
            (sse, "content_block_stop")
        }
    }
}

/// Runs `request` through a guard with `rail` over an upstream answering `upstream`, and
/// returns the client's status and body.
async fn through(rail: &ToolCallSchemas, api: Api, upstream: LlmResponse) -> (StatusCode, String) {
    let upstream = std::sync::Mutex::new(Some(upstream));
    let upstream = std::sync::Arc::new(upstream);
    let svc = ServiceBuilder::new()
        .layer(GuardLayer::new().with(rail.clone()))
        .service(service_fn(move |_: LlmRequest| {
            let res = upstream.lock().unwrap().take().unwrap();
            async move { Ok::<_, BoxError>(res) }
        }));
    let res = svc.oneshot(request(api)).await.unwrap();
    let http = res.into_http(dialect(api));
    let status = http.status();
    let body = http.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn whole(api: Api, args: &Value) -> LlmResponse {
    let v = answer(api, args);
    let bytes = Bytes::from(v.to_string());
    LlmResponse::json(
        StatusCode::OK,
        HeaderMap::new(),
        bytes,
        v,
        UsageReport::new(),
    )
}

fn streamed(sse: String) -> LlmResponse {
    LlmResponse::stream(
        StatusCode::OK,
        HeaderMap::new(),
        LlmBody::full(Bytes::from(sse)),
        UsageReport::new(),
    )
}

fn events(body: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(body.as_bytes(), &mut events).unwrap();
    assert!(!decoder.finish(), "the client's stream ends between events");
    events
}

const APIS: [Api; 3] = [Api::ChatCompletions, Api::Responses, Api::Messages];

#[tokio::test]
async fn a_whole_answer_with_a_bad_call_is_refused_naming_rule_and_schema_path() {
    for api in APIS {
        let rail = ToolCallSchemas::new().with_mode(Mode::Enforce);
        let (status, body) = through(&rail, api, whole(api, &json!({"city": 7}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{api:?}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let message = match api {
            Api::Messages => {
                assert_eq!(v["error"]["type"], "permission_error");
                v["error"]["message"].as_str().unwrap().to_owned()
            }
            _ => {
                assert_eq!(v["error"]["code"], "guardrail_blocked");
                v["error"]["message"].as_str().unwrap().to_owned()
            }
        };
        assert!(message.contains(TOOL_CALL_RULE), "{api:?}: {message}");
        assert!(message.contains(SCHEMA_PATH), "{api:?}: {message}");
        assert!(message.contains("get_weather"), "{api:?}: {message}");
        assert_eq!((rail.blocks(), rail.warnings()), (1, 0), "{api:?}");

        // A valid call passes as the upstream sent it.
        let good = json!({"city": "Paris"});
        let (status, body) = through(&rail, api, whole(api, &good)).await;
        assert_eq!(status, StatusCode::OK, "{api:?}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            answer(api, &good)
        );
        assert_eq!(rail.blocks(), 1, "{api:?}");
    }
}

#[tokio::test]
async fn a_whole_answer_with_a_bad_call_passes_in_warn_mode_and_is_counted() {
    for api in APIS {
        let rail = ToolCallSchemas::new();
        let bad = json!({"city": 7});
        let (status, body) = through(&rail, api, whole(api, &bad)).await;
        assert_eq!(status, StatusCode::OK, "{api:?}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            answer(api, &bad)
        );
        assert_eq!((rail.warnings(), rail.blocks()), (1, 0), "{api:?}");
    }
}

#[tokio::test]
async fn a_streamed_bad_call_ends_the_stream_before_it_completes() {
    for api in APIS {
        let rail = ToolCallSchemas::new().with_mode(Mode::Enforce);
        let (sse, completing) = stream(api, &json!({"city": 7}));
        let (status, body) = through(&rail, api, streamed(sse.clone())).await;
        assert_eq!(status, StatusCode::OK, "{api:?}");
        let events = events(&body);
        let last = events.last().unwrap();
        let v: Value = serde_json::from_str(&last.data).unwrap();
        let message = match api {
            Api::ChatCompletions => {
                assert_eq!(v["error"]["code"], "guardrail_blocked");
                v["error"]["message"].as_str().unwrap()
            }
            Api::Responses => {
                assert_eq!(
                    (last.event_type(), &v["code"]),
                    ("error", &json!("guardrail_blocked"))
                );
                v["message"].as_str().unwrap()
            }
            _ => {
                assert_eq!(last.event_type(), "error");
                assert_eq!(v["error"]["type"], "permission_error");
                v["error"]["message"].as_str().unwrap()
            }
        };
        assert!(message.contains(TOOL_CALL_RULE), "{api:?}: {message}");
        assert!(message.contains(SCHEMA_PATH), "{api:?}: {message}");
        // The argument deltas went out as they came; the event completing the call did not.
        assert!(!body.contains(completing), "{api:?}: {body}");
        let upstream_before: Vec<Event> = events_of_upstream(&sse, completing);
        assert_eq!(events[..events.len() - 1], upstream_before[..], "{api:?}");
        assert_eq!(rail.blocks(), 1, "{api:?}");
    }
}

/// The upstream's events before the one containing `completing`.
fn events_of_upstream(sse: &str, completing: &str) -> Vec<Event> {
    events(sse)
        .into_iter()
        .take_while(|e| !e.data.contains(completing) && !e.event_type().contains(completing))
        .collect()
}

#[tokio::test]
async fn a_streamed_bad_call_passes_in_warn_mode_and_a_good_one_when_enforced() {
    for api in APIS {
        let rail = ToolCallSchemas::new();
        let (sse, _) = stream(api, &json!({"city": 7}));
        let (_, body) = through(&rail, api, streamed(sse.clone())).await;
        assert_eq!(events(&body), events(&sse), "{api:?}");
        assert_eq!((rail.warnings(), rail.blocks()), (1, 0), "{api:?}");

        let rail = ToolCallSchemas::new().with_mode(Mode::Enforce);
        let (sse, _) = stream(api, &json!({"city": "Paris"}));
        let (_, body) = through(&rail, api, streamed(sse.clone())).await;
        assert_eq!(events(&body), events(&sse), "{api:?}");
        assert_eq!((rail.warnings(), rail.blocks()), (0, 0), "{api:?}");
    }
}

#[tokio::test]
async fn a_call_to_a_tool_the_request_did_not_offer_is_refused_when_enforced() {
    let rail = ToolCallSchemas::new().with_mode(Mode::Enforce);
    let mut v = answer(Api::ChatCompletions, &json!({"city": "Paris"}));
    v["choices"][0]["message"]["tool_calls"][0]["function"]["name"] = json!("rm_rf");
    let res = LlmResponse::json(
        StatusCode::OK,
        HeaderMap::new(),
        Bytes::from(v.to_string()),
        v,
        UsageReport::new(),
    );
    let (status, body) = through(&rail, Api::ChatCompletions, res).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("tool rm_rf is not among the request's tools"),
        "{body}"
    );
}
