use std::sync::{Arc, Mutex};

use agent_gateway_core::response::{Outcome, Reply, ServedBy};
use agent_gateway_core::testkit::{FakeUpstream, SpanCapture};
use agent_gateway_core::trace::TraceParent;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, RunId, Usage};
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

use super::{TraceLayer, semconv};
use crate::ServiceBuilderExt;
use crate::audit::AuditTapLayer;

fn traced(headers: HeaderMap) -> Call {
    Call::new(Action::ModelCall, json!({"messages": []}))
        .with_protocol("llm")
        .with_target("gpt-4o")
        .with_headers(headers)
}

#[tokio::test]
async fn a_model_call_span_has_the_gen_ai_attributes_and_usage() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let upstream = FakeUpstream::new(|_: Call| {
        let reply = Reply::with_usage(json!({"model": "gpt-4o-2024-08-06"}), Usage::tokens(12, 34))
            .with_served_by(ServedBy::new("openai"));
        Ok::<_, BoxError>(reply)
    });
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .service(upstream);
    let call = traced(HeaderMap::new())
        .with_caller(Caller::new("ann"))
        .with_run_id(RunId::new("run-1").unwrap());
    stack.oneshot(call).await.unwrap();

    let spans = capture.closed();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let s = &spans[0];
    let get = |k: &str| s.get(k).map(String::as_str);
    assert_eq!(get(semconv::GEN_AI_OPERATION_NAME), Some("chat"));
    assert_eq!(get(semconv::GEN_AI_REQUEST_MODEL), Some("gpt-4o"));
    assert_eq!(
        get(semconv::GEN_AI_RESPONSE_MODEL),
        Some("gpt-4o-2024-08-06")
    );
    assert_eq!(get(semconv::GEN_AI_PROVIDER_NAME), Some("openai"));
    assert_eq!(get(semconv::GEN_AI_USAGE_INPUT_TOKENS), Some("12"));
    assert_eq!(get(semconv::GEN_AI_USAGE_OUTPUT_TOKENS), Some("34"));
    assert_eq!(get(semconv::AGW_PROTOCOL), Some("llm"));
    assert_eq!(
        get(semconv::AGW_CALLER),
        Some(Caller::new("ann").principal_id())
    );
    assert_eq!(get(semconv::AGW_RUN_ID), Some("run-1"));
    assert_eq!(get(semconv::AGW_DECISION), Some("allow"));
    assert_eq!(get(semconv::AGW_OUTCOME), Some("ok"));
    assert_eq!(get("otel.name"), Some("chat gpt-4o"));
    assert_eq!(get(semconv::TRACE_ID).map(str::len), Some(32));
}

#[tokio::test]
async fn a_streamed_span_ends_when_the_stream_ends_with_its_usage() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!(null))));
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .service(upstream);
    let reply = stack.oneshot(traced(HeaderMap::new())).await.unwrap();

    // The response is out but its stream has not ended: the span is still open.
    assert!(capture.closed().is_empty());
    assert_eq!(capture.open_count(), 1);
    let report = agent_gateway_core::AgentResponse::usage_report(&reply)
        .unwrap()
        .clone();
    report.complete(Usage::tokens(5, 7), Outcome::Aborted);
    let spans = capture.closed();
    assert_eq!(spans.len(), 1, "the span closed with the stream");
    assert_eq!(spans[0][semconv::GEN_AI_USAGE_OUTPUT_TOKENS], "7");
    assert_eq!(spans[0][semconv::AGW_OUTCOME], "aborted");
    drop(reply);
}

#[tokio::test]
async fn a_denial_names_its_kind_and_rule_and_the_caller_auth_set() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("x"))));
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        // Stands for auth: the caller is known only inside, and the tap records it.
        .map_request(|call: Call| call.with_caller(Caller::new("bob")))
        .layer(AuditTapLayer)
        .check(|_: &dyn AgentRequest| Err(Denied::forbidden("no").with_rule("no-deletes")))
        .service(upstream.clone());
    let call = Call::new(Action::ToolCall, json!({}))
        .with_protocol("mcp")
        .with_target("fs.delete");
    let err = stack.oneshot(call).await.unwrap_err();
    assert_eq!(
        Denied::find(err.as_ref()).unwrap().rule(),
        Some("no-deletes")
    );
    assert_eq!(upstream.calls(), 0);

    let spans = capture.closed();
    let s = &spans[0];
    assert_eq!(s[semconv::GEN_AI_OPERATION_NAME], "execute_tool");
    assert_eq!(s[semconv::GEN_AI_TOOL_NAME], "fs.delete");
    assert_eq!(s[semconv::AGW_DECISION], "deny");
    assert_eq!(s[semconv::AGW_DENIED_KIND], "forbidden");
    assert_eq!(s[semconv::AGW_RULE_ID], "no-deletes");
    assert_eq!(s[semconv::AGW_OUTCOME], "denied");
    assert_eq!(s[semconv::AGW_CALLER], Caller::new("bob").principal_id());
}

#[tokio::test]
async fn a2a_task_and_context_come_from_the_params() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("x"))));
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .service(upstream);
    let params = json!({"message": {"taskId": "t-1", "contextId": "c-1", "parts": []}});
    let call = Call::new(Action::AgentMessage, params)
        .with_protocol("a2a")
        .with_target("helper");
    stack.oneshot(call).await.unwrap();
    let s = &capture.closed()[0];
    assert_eq!(s[semconv::GEN_AI_OPERATION_NAME], "invoke_agent");
    assert_eq!(s[semconv::GEN_AI_AGENT_NAME], "helper");
    assert_eq!(s[semconv::A2A_TASK_ID], "t-1");
    assert_eq!(s[semconv::A2A_CONTEXT_ID], "c-1");
}

/// What upstream received: its `traceparent` and `tracestate`.
async fn sent_upstream(headers: HeaderMap) -> (Option<TraceParent>, Option<HeaderValue>) {
    let seen = Arc::new(Mutex::new(None));
    let sink = seen.clone();
    let upstream = FakeUpstream::new(move |call: Call| {
        let ctx = call.extensions().get::<TraceParent>().copied();
        assert_eq!(
            ctx,
            TraceParent::from_headers(call.headers()),
            "extension and header agree"
        );
        *sink.lock().unwrap() = Some((ctx, call.headers().get("tracestate").cloned()));
        Ok::<_, BoxError>(Reply::new(json!("x")))
    });
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new())
        .service(upstream);
    stack.oneshot(traced(headers)).await.unwrap();
    seen.lock().unwrap().take().unwrap()
}

#[tokio::test]
async fn the_incoming_trace_is_continued_and_a_bad_one_replaced() {
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static(incoming));
    headers.insert("tracestate", HeaderValue::from_static("vendor=1"));
    let (ctx, state) = sent_upstream(headers).await;
    let ctx = ctx.unwrap();
    assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(ctx.span_id(), "00f067aa0ba902b7");
    assert_eq!(state.unwrap(), "vendor=1");

    // A malformed traceparent starts a new trace, and its tracestate is dropped.
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_static("00-zz-00f067aa0ba902b7-01"),
    );
    headers.insert("tracestate", HeaderValue::from_static("vendor=1"));
    let (ctx, state) = sent_upstream(headers).await;
    assert!(ctx.unwrap().sampled());
    assert_eq!(state, None);

    // None at all: a new trace.
    let (a, _) = sent_upstream(HeaderMap::new()).await;
    let (b, _) = sent_upstream(HeaderMap::new()).await;
    assert_ne!(a.unwrap().trace_id(), b.unwrap().trace_id());
}

#[test]
fn the_span_fields_are_the_semconv_names() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let call = traced(HeaderMap::new());
    let span = super::span::open(&call);
    let meta = span.span().metadata().unwrap();
    for name in [
        semconv::GEN_AI_OPERATION_NAME,
        semconv::GEN_AI_PROVIDER_NAME,
        semconv::GEN_AI_REQUEST_MODEL,
        semconv::GEN_AI_RESPONSE_MODEL,
        semconv::GEN_AI_USAGE_INPUT_TOKENS,
        semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
        semconv::GEN_AI_TOOL_NAME,
        semconv::GEN_AI_AGENT_NAME,
        semconv::GEN_AI_CONVERSATION_ID,
        semconv::MCP_METHOD_NAME,
        semconv::MCP_SESSION_ID,
        semconv::A2A_METHOD,
        semconv::A2A_TASK_ID,
        semconv::A2A_CONTEXT_ID,
        semconv::AGW_PROTOCOL,
        semconv::AGW_CALLER,
        semconv::AGW_RUN_ID,
        semconv::AGW_DECISION,
        semconv::AGW_RULE_ID,
        semconv::AGW_DENIED_KIND,
        semconv::AGW_OUTCOME,
        semconv::TRACE_ID,
    ] {
        assert!(
            meta.fields().field(name).is_some(),
            "the span has no field {name}"
        );
    }
}
