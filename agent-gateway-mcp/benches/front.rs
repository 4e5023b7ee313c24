//! `tools/call` through the MCP front and the federation router to an in-process upstream,
//! against calling that upstream directly, in the same run.
//!
//! - `baseline_upstream_direct`: the fake server's `Service<UpstreamRequest>`, no HTTP.
//! - `front_federation_modern`: HTTP request in, modern validation, decode once, federation
//!   routing and renaming, the same fake server, JSON response out and collected.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;

use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

const BODY: &str = r#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"gh__search_issues","arguments":{"query":"is:open label:bug","limit":20},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"progressToken":"p-1"}}}"#;

fn request() -> http::Request<Full<Bytes>> {
    http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "gh__search_issues")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap()
}

fn tools_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let fake = FakeMcpServer::new().with_echo_tool("search_issues");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("gh").unwrap(), fake.clone()))
        .build()
        .unwrap();
    let front = McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap());
    let direct_params =
        json!({"name": "search_issues", "arguments": {"query": "is:open label:bug", "limit": 20}});
    let direct_params = direct_params.as_object().unwrap().clone();

    // Both paths answer the same thing.
    let res = rt.block_on(front.clone().oneshot(request())).unwrap();
    let body = rt.block_on(res.into_body().collect()).unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["result"]["content"][0]["text"],
        r#"search_issues:{"limit":20,"query":"is:open label:bug"}"#
    );

    let mut g = c.benchmark_group("mcp/tools_call");
    g.bench_function("baseline_upstream_direct", |b| {
        b.iter(|| {
            let req = UpstreamRequest::new("tools/call", direct_params.clone());
            black_box(rt.block_on(fake.clone().oneshot(req)).unwrap())
        })
    });
    g.bench_function("front_federation_modern", |b| {
        b.iter(|| {
            let res = rt.block_on(front.clone().oneshot(request())).unwrap();
            black_box(rt.block_on(res.into_body().collect()).unwrap().to_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, tools_call);
criterion_main!(benches);
