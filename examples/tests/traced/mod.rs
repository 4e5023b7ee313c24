//! Upstreams on loopback ports that record the trace context each request carries: a fake
//! OpenAI provider and the demo MCP server over HTTP. Shared by the telemetry tests (a
//! capturing `tracing` layer, and OTLP export).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use agent_gateway_core::trace::TraceParent;
use agent_gateway_examples::demo::mcp::DemoMcpServer;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The client's trace.
pub(crate) const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// The client's trace id.
pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The client's span id.
pub(crate) const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// What upstreams saw: each request's `traceparent` header (and for MCP, `_meta`'s).
#[derive(Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    pub(crate) fn push(&self, value: Option<&str>) {
        self.0
            .lock()
            .unwrap()
            .push(value.unwrap_or("none").to_owned());
    }
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub(crate) async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

pub(crate) fn header(req: &http::Request<axum::body::Body>, seen: &Seen) {
    seen.push(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
}

/// A fake OpenAI provider: a whole answer, or a stream ending with its usage.
pub(crate) async fn provider(seen: Seen) -> String {
    let chat = axum::routing::post(|body: axum::Json<Value>| async move {
        if body["stream"] == true {
            let chunk = |delta: Value, usage: Value| {
                format!(
                    "data: {}\n\n",
                    json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024",
                           "choices": delta, "usage": usage})
                )
            };
            let body = [
                chunk(
                    json!([{"index": 0, "delta": {"content": "hi"}}]),
                    Value::Null,
                ),
                chunk(
                    json!([]),
                    json!({"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}),
                ),
                "data: [DONE]\n\n".to_owned(),
            ]
            .concat();
            ([("content-type", "text/event-stream")], body).into_response()
        } else {
            axum::Json(json!({
                "id": "c1", "object": "chat.completion", "model": "gpt-4o-mini-2024",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
            }))
            .into_response()
        }
    });
    let app = axum::Router::new()
        .route("/v1/chat/completions", chat)
        .layer(axum::middleware::map_request(
            move |req: http::Request<axum::body::Body>| {
                let seen = seen.clone();
                async move {
                    header(&req, &seen);
                    req
                }
            },
        ));
    serve(app).await
}

/// The demo MCP server over HTTP, recording the `traceparent` header and `_meta`'s.
pub(crate) async fn mcp_server(headers: Seen, metas: Seen) -> String {
    let server = tower::service_fn(move |req: UpstreamRequest| {
        let meta = req.params()["_meta"]["traceparent"]
            .as_str()
            .map(str::to_owned);
        metas.push(meta.as_deref());
        async move { DemoMcpServer::new().oneshot(req).await }
    });
    let config = McpFrontConfig::new("demo", "1")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*"]);
    let front = McpFront::new(Direct::new(server), config);
    let app =
        axum::Router::new()
            .route_service("/mcp", front)
            .layer(axum::middleware::map_request(
                move |req: http::Request<axum::body::Body>| {
                    let seen = headers.clone();
                    async move {
                        header(&req, &seen);
                        req
                    }
                },
            ));
    format!("{}/mcp", serve(app).await)
}

/// Asserts `traceparent` continues the client's trace under a span of the gateway's.
pub(crate) fn of_our_trace(traceparent: &str) {
    let parsed = TraceParent::parse(traceparent).unwrap_or_else(|| panic!("{traceparent}"));
    assert_eq!(parsed.trace_id(), TRACE);
    assert_ne!(
        parsed.span_id(),
        CLIENT_SPAN,
        "the gateway's own span, not the client's"
    );
}
