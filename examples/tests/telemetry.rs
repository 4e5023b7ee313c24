//! The gateway's telemetry end to end, in-process against upstreams on loopback ports: each
//! call's span carries the GenAI attributes (an LLM call, whole and streamed, and an MCP tool
//! call), and each upstream receives a `traceparent` of the client's trace under the gateway's
//! own span (for MCP in the HTTP header and in `params._meta`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::trace::TraceParent;
use agent_gateway_examples::config::Config;
use agent_gateway_examples::demo::mcp::DemoMcpServer;
use agent_gateway_examples::{app, policy::Policies};
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// The client's trace.
const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

type Fields = HashMap<String, String>;

/// Every closed span's fields.
#[derive(Clone, Default)]
struct Capture {
    open: Arc<Mutex<HashMap<u64, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        self.open.lock().unwrap().insert(id.into_u64(), fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(fields);
        }
    }
}

impl Capture {
    /// The closed call spans (`agw.protocol` set), in the order they closed.
    fn calls(&self) -> Vec<Fields> {
        let closed = self.closed.lock().unwrap();
        closed
            .iter()
            .filter(|f| f.contains_key("agw.protocol"))
            .cloned()
            .collect()
    }
}

/// What upstreams saw: each request's `traceparent` header (and for MCP, `_meta`'s).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, value: Option<&str>) {
        self.0
            .lock()
            .unwrap()
            .push(value.unwrap_or("none").to_owned());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn header(req: &http::Request<axum::body::Body>, seen: &Seen) {
    seen.push(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
}

/// A fake OpenAI provider: a whole answer, or a stream ending with its usage.
async fn provider(seen: Seen) -> String {
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
async fn mcp_server(headers: Seen, metas: Seen) -> String {
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
fn of_our_trace(traceparent: &str) {
    let parsed = TraceParent::parse(traceparent).unwrap_or_else(|| panic!("{traceparent}"));
    assert_eq!(parsed.trace_id(), TRACE);
    assert_ne!(
        parsed.span_id(),
        "00f067aa0ba902b7",
        "the gateway's own span, not the client's"
    );
}

#[tokio::test]
async fn llm_and_mcp_calls_have_genai_spans_and_upstreams_get_the_trace() {
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (llm_seen, mcp_headers, mcp_metas) = (Seen::default(), Seen::default(), Seen::default());
    let llm = provider(llm_seen.clone()).await;
    let mcp = mcp_server(mcp_headers.clone(), mcp_metas.clone()).await;
    let toml = format!(
        "[auth]\nrequired = false\n\
         [llm]\n[[llm.providers]]\nname = \"openai\"\nkind = \"openai\"\nbase_url = \"{llm}/v1\"\n\
         [[llm.deployments]]\nalias = \"gpt\"\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n\
         [mcp]\nallowed_hosts = [\"*\"]\n\
         [[mcp.upstreams]]\nname = \"search\"\nurl = \"{mcp}\"\n"
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let client = TestClient::new(app::router(&config, &policies).unwrap());

    // A whole model call.
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]});
    let res = client
        .post("/v1/chat/completions")
        .header("traceparent", INCOMING)
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // A streamed one, read to its end.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let res = client
        .post("/v1/chat/completions")
        .header("traceparent", INCOMING)
        .json(&streamed)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.text().contains("[DONE]"), "{}", res.text());

    let spans = capture.calls();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for (span, (input, output)) in spans.iter().zip([("3", "4"), ("11", "22")]) {
        assert_eq!(span["gen_ai.operation.name"], "chat", "{span:?}");
        assert_eq!(span["gen_ai.request.model"], "gpt");
        assert_eq!(span["gen_ai.usage.input_tokens"], input, "{span:?}");
        assert_eq!(span["gen_ai.usage.output_tokens"], output, "{span:?}");
        assert_eq!(span["agw.decision"], "allow");
        assert_eq!(span["agw.outcome"], "ok");
        assert_eq!(span["trace_id"], TRACE);
    }
    let sent = llm_seen.take();
    assert_eq!(sent.len(), 2, "{sent:?}");
    sent.iter().for_each(|t| of_our_trace(t));

    // An MCP tool call.
    let params = json!({"name": "search__echo", "arguments": {"q": 1}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let rpc = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let res = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "search__echo")
        .header("traceparent", INCOMING)
        .json(&rpc)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json()["result"]["content"][0]["type"],
        "text",
        "{}",
        res.text()
    );
    let spans = capture.calls();
    let tool = spans
        .iter()
        .find(|s| s["agw.protocol"] == "mcp")
        .unwrap_or_else(|| panic!("{spans:#?}"));
    assert_eq!(tool["gen_ai.operation.name"], "execute_tool");
    assert_eq!(tool["gen_ai.tool.name"], "search__echo");
    assert_eq!(tool["mcp.method.name"], "tools/call");
    assert_eq!(tool["trace_id"], TRACE);
    // The upstream's tools/call carried the trace in its header and in `_meta`.
    let (headers, metas) = (mcp_headers.take(), mcp_metas.take());
    assert!(!metas.is_empty(), "the upstream was called");
    of_our_trace(metas.last().unwrap());
    of_our_trace(headers.last().unwrap());
}
