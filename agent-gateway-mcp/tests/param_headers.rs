//! `Mcp-Param-*` headers reach an upstream only as the gateway computes them from the
//! arguments and the tool's declaration (#11 item 6, finding 27): a client's own header never
//! does, before any listing (the declarations are then fetched on demand, when the client sent
//! such headers) or after one.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use agent_gateway_core::BoxError;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use tower::ServiceExt;

type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

/// An upstream declaring `Region` on `deploy` (and nothing on `plain`), recording every
/// request's method and `Mcp-Param-*` headers.
fn upstream(seen: Seen) -> Federation {
    let service = tower::service_fn(move |req: UpstreamRequest| {
        let headers = req
            .param_headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        seen.lock()
            .unwrap()
            .push((req.method_name().to_owned(), headers));
        let result = match req.method_name() {
            "tools/list" => json!({"tools": [
                {"name": "deploy", "inputSchema": {"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"}}}},
                {"name": "plain", "inputSchema": {"type": "object"}}]}),
            _ => json!({"content": []}),
        };
        async move { Ok::<_, BoxError>(result.as_object().cloned().unwrap()) }
    });
    Federation::builder()
        .member(Member::new(ServerName::new("ops").unwrap(), service))
        .build()
        .unwrap()
}

fn call(tool: &str, client_headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": {"region": "eu-west"}, "_meta": meta}});
    let mut req = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    for (n, v) in client_headers {
        req = req.header(*n, *v);
    }
    req.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// The `Mcp-Param-*` headers of the last `tools/call` the upstream saw.
fn last_call(seen: &Seen) -> Vec<(String, String)> {
    let seen = seen.lock().unwrap();
    let (_, headers) = seen.iter().rev().find(|(m, _)| m == "tools/call").unwrap();
    headers.clone()
}

fn listings(seen: &Seen) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(m, _)| m == "tools/list")
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_client_header_never_reaches_the_upstream() {
    let seen = Seen::default();
    let front = McpFront::new(
        upstream(seen.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let send = |req| {
        let front = front.clone();
        async move {
            let res = front.oneshot(req).await.unwrap();
            assert_eq!(res.status(), 200);
        }
    };
    let region = [("mcp-param-region".to_owned(), "eu-west".to_owned())];
    let forged = [("mcp-param-region", "eu-west"), ("mcp-param-extra", "x")];

    // Before any listing, a client sending no header: nothing is known, nothing is fetched,
    // no header is sent.
    send(call("ops__deploy", &[])).await;
    assert_eq!((listings(&seen), last_call(&seen)), (0, vec![]));
    // A client sending headers: the declarations are fetched on demand, once; the upstream
    // gets the computed header, never the client's undeclared one.
    send(call("ops__deploy", &forged)).await;
    assert_eq!(listings(&seen), 1, "fetched on the miss");
    assert_eq!(last_call(&seen), region);
    // A tool declaring nothing: no header at all, whatever the client sent.
    send(call("ops__plain", &[("mcp-param-region", "us-east")])).await;
    assert_eq!(last_call(&seen), []);
    // An unknown tool of that upstream does not fetch again within the refetch period.
    send(call("ops__unlisted", &[("mcp-param-anything", "x")])).await;
    assert_eq!(last_call(&seen), []);
    assert_eq!(listings(&seen), 1);

    // After a client's listing: the same.
    let client = McpClient::modern(front.clone());
    let tools: Vec<Value> = client.list_tools().await.unwrap();
    assert_eq!(tools.len(), 2);
    send(call("ops__deploy", &forged)).await;
    assert_eq!(last_call(&seen), region);
    send(call("ops__plain", &forged[1..])).await;
    assert_eq!(last_call(&seen), []);
    // No request the upstream ever saw carried a client-only header.
    let all = seen.lock().unwrap();
    assert!(
        all.iter()
            .flat_map(|(_, h)| h)
            .all(|(n, v)| n == "mcp-param-region" && v == "eu-west"),
        "{all:?}"
    );
}
