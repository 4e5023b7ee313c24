//! OTLP export end to end (feature `otel`, #17 must-show A): the gateway, in-process, exports
//! its call spans to an OTLP/HTTP receiver on a loopback port, which decodes each
//! `ExportTraceServiceRequest`. An LLM call (whole and streamed) and an MCP tool call carry
//! the GenAI attributes, and each upstream receives as `traceparent` the exported span itself:
//! same trace id, the span's own id. An MCP client's trace context in `params._meta` (no
//! header) is continued too; with no endpoint configured nothing is built or exported.

#![cfg(feature = "otel")]
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::Config;
use agent_gateway_examples::telemetry::Otel;
use agent_gateway_examples::{app, policy::Policies};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::json;
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;

mod traced;
use traced::{CLIENT_SPAN, INCOMING, Seen, TRACE, mcp_server, provider, serve};

/// How long the receiver may take to see an export after a flush: generous, never slept.
const WAIT: Duration = Duration::from_secs(20);
/// Another client's trace, carried only in MCP `params._meta`.
const META_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const META_PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// An OTLP/HTTP receiver: every decoded export request goes to the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let traces = axum::routing::post(move |body: bytes::Bytes| {
        let tx = tx.clone();
        async move {
            let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
            let _ = tx.send(request);
            (
                [("content-type", "application/x-protobuf")],
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
        }
    });
    let base = serve(axum::Router::new().route("/v1/traces", traces)).await;
    (base, rx)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A span's attributes, as strings (integers in decimal).
fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                Any::StringValue(s) => s.clone(),
                Any::IntValue(i) => i.to_string(),
                Any::BoolValue(b) => b.to_string(),
                Any::DoubleValue(d) => d.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

/// The `traceparent` that names `span`.
fn traceparent(span: &Span) -> String {
    format!("00-{}-{}-01", hex(&span.trace_id), hex(&span.span_id))
}

/// Flushes `otel` off the runtime's thread (the receiver runs on it), then takes exported
/// spans until `done` holds of the call spans (those with `agw.protocol`) or the wait ends.
async fn exported(
    otel: &Arc<Otel>,
    rx: &mut mpsc::UnboundedReceiver<ExportTraceServiceRequest>,
    done: impl Fn(&[Span]) -> bool,
) -> Vec<Span> {
    let flushing = otel.clone();
    tokio::time::timeout(
        WAIT,
        tokio::task::spawn_blocking(move || flushing.force_flush()),
    )
    .await
    .expect("the flush ends within the wait")
    .unwrap()
    .unwrap();
    let mut calls = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(&calls) {
        let request = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("spans exported so far: {calls:#?}"))
            .expect("the receiver is up");
        let spans = request.resource_spans.into_iter().flat_map(|r| {
            let service = r
                .resource
                .as_ref()
                .map(|res| res.attributes.iter().any(|kv| kv.key == "service.name"));
            assert_eq!(service, Some(true), "the resource names the service");
            r.scope_spans.into_iter().flat_map(|s| s.spans)
        });
        calls.extend(spans.filter(|s| attributes(s).contains_key("agw.protocol")));
    }
    calls
}

/// The gateway's config: the fake OpenAI provider, the demo MCP server over HTTP, no auth,
/// and the receiver as OTLP endpoint (a long interval: only the flush exports).
fn config(llm: &str, mcp: &str, otlp: &str) -> Config {
    Config::from_toml_str(&format!(
        "[auth]\nrequired = false\n\
         [llm]\n[[llm.providers]]\nname = \"openai\"\nkind = \"openai\"\nbase_url = \"{llm}/v1\"\n\
         [[llm.deployments]]\nalias = \"gpt\"\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n\
         [mcp]\nallowed_hosts = [\"*\"]\n\
         [[mcp.upstreams]]\nname = \"search\"\nurl = \"{mcp}\"\n\
         [telemetry]\notlp_endpoint = \"{otlp}\"\nservice_name = \"gw-under-test\"\n\
         export_interval_ms = 600000\n"
    ))
    .unwrap()
}

async fn chat(client: &TestClient<axum::Router>, stream: bool) {
    let body = json!({"model": "gpt", "stream": stream,
                      "messages": [{"role": "user", "content": "hi"}]});
    let res = client
        .post("/v1/chat/completions")
        .header("traceparent", INCOMING)
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    if stream {
        assert!(res.text().contains("[DONE]"), "{}", res.text());
    }
}

/// Opens a legacy (2025-06-18) session, so the tool call's span has a session id.
async fn legacy_session(client: &TestClient<axum::Router>) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.header("mcp-session-id").unwrap().to_owned()
}

/// A `tools/call` of `search__echo`: in the legacy `session` with a `traceparent` header, or
/// (no session) a modern call whose only trace context is `params._meta.traceparent`.
async fn tool_call(client: &TestClient<axum::Router>, session: Option<&str>) {
    let mut params = json!({"name": "search__echo", "arguments": {"q": 1}});
    let mut req = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream");
    match session {
        Some(session) => {
            req = req
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-06-18")
                .header("traceparent", INCOMING);
        }
        None => {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "traceparent": META_PARENT,
            });
            req = req
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "search__echo");
        }
    }
    let rpc = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let res = req.json(&rpc).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.text().contains("\"result\""), "{}", res.text());
}

#[tokio::test]
async fn spans_are_exported_with_genai_attributes_and_upstreams_get_the_exported_span() {
    let (otlp, mut rx) = receiver().await;
    let (llm_seen, mcp_headers, mcp_metas) = (Seen::default(), Seen::default(), Seen::default());
    let llm = provider(llm_seen.clone()).await;
    let mcp = mcp_server(mcp_headers.clone(), mcp_metas.clone()).await;
    let config = config(&llm, &mcp, &otlp);
    let otel = Arc::new(
        Otel::from_config(&config.telemetry, |_| None)
            .unwrap()
            .unwrap(),
    );
    assert_eq!(otel.endpoint(), format!("{otlp}/v1/traces"));
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(otel.layer()));
    let policies = Policies::from_config(&config)
        .await
        .unwrap()
        .with_trace(otel.trace_layer());
    let client = TestClient::new(app::router(&config, &policies).unwrap());

    // LLM: a whole call and a streamed one, read to its end.
    chat(&client, false).await;
    chat(&client, true).await;
    let spans = exported(&otel, &mut rx, |s| s.len() >= 2).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let sent = llm_seen.take();
    assert_eq!(sent.len(), 2, "{sent:?}");
    // A whole answer's model is the one it names; a stream's, its deployment's.
    let answers = [("3", "4", "gpt-4o-mini-2024"), ("11", "22", "gpt-4o-mini")];
    for (span, (input, output, model)) in spans.iter().zip(answers) {
        let attrs = attributes(span);
        assert_eq!(attrs["gen_ai.operation.name"], "chat", "{attrs:?}");
        assert_eq!(attrs["gen_ai.provider.name"], "openai", "{attrs:?}");
        assert_eq!(attrs["gen_ai.request.model"], "gpt", "{attrs:?}");
        assert_eq!(attrs["gen_ai.response.model"], model, "{attrs:?}");
        assert_eq!(attrs["gen_ai.usage.input_tokens"], input, "{attrs:?}");
        assert_eq!(attrs["gen_ai.usage.output_tokens"], output, "{attrs:?}");
        assert_eq!(attrs["agw.outcome"], "ok", "{attrs:?}");
        assert_eq!(span.kind, SpanKind::Server as i32);
        // The client's trace, under the client's span.
        assert_eq!(hex(&span.trace_id), TRACE);
        assert_eq!(hex(&span.parent_span_id), CLIENT_SPAN);
        // The provider received this very span as its parent.
        assert!(sent.contains(&traceparent(span)), "{sent:?} vs {span:#?}");
    }

    // MCP: a tool call in a legacy session, with the trace in the header.
    let session = legacy_session(&client).await;
    mcp_metas.take();
    tool_call(&client, Some(&session)).await;
    let spans = exported(&otel, &mut rx, |s| {
        s.iter()
            .any(|s| attributes(s).contains_key("gen_ai.tool.name"))
    })
    .await;
    let tool = spans
        .iter()
        .find(|s| attributes(s).contains_key("gen_ai.tool.name"))
        .unwrap();
    let attrs = attributes(tool);
    assert_eq!(attrs["gen_ai.operation.name"], "execute_tool", "{attrs:?}");
    assert_eq!(attrs["gen_ai.tool.name"], "search__echo", "{attrs:?}");
    assert_eq!(attrs["mcp.method.name"], "tools/call", "{attrs:?}");
    assert_eq!(attrs["mcp.session.id"], session, "{attrs:?}");
    assert_eq!(hex(&tool.trace_id), TRACE);
    assert_eq!(hex(&tool.parent_span_id), CLIENT_SPAN);
    // The upstream's tools/call carried this span in its header and in `_meta`.
    let ours = traceparent(tool);
    assert!(mcp_metas.take().contains(&ours), "{ours}");
    assert!(mcp_headers.take().contains(&ours), "{ours}");

    // MCP `_meta` only: the client's trace there is continued, and the upstream gets the
    // exported span in `_meta` in its place.
    tool_call(&client, None).await;
    let spans = exported(&otel, &mut rx, |s| !s.is_empty()).await;
    let tool = spans
        .iter()
        .find(|s| attributes(s).contains_key("gen_ai.tool.name"))
        .unwrap_or_else(|| panic!("{spans:#?}"));
    assert_eq!(hex(&tool.trace_id), META_TRACE);
    assert_eq!(hex(&tool.parent_span_id), &META_PARENT[36..52]);
    let metas = mcp_metas.take();
    assert!(metas.contains(&traceparent(tool)), "{metas:?}");
    assert!(!metas.iter().any(|m| m == META_PARENT), "{metas:?}");
}

#[test]
fn nothing_is_built_or_exported_without_an_endpoint() {
    let config = Config::from_toml_str("[telemetry]\nservice_name = \"quiet\"\n").unwrap();
    assert!(
        Otel::from_config(&config.telemetry, |_| None)
            .unwrap()
            .is_none()
    );
    // Empty variables count as unset, like the OTLP exporter spec says.
    let empty = |_: &str| Some(String::new());
    assert!(
        Otel::from_config(&config.telemetry, empty)
            .unwrap()
            .is_none()
    );
    // The environment alone is enough; a bad value there names its variable.
    let env = |key: &str| (key == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "ftp://x".to_owned());
    let err = Otel::from_config(&config.telemetry, env).unwrap_err();
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{err}"
    );
}
