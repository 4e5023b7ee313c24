//! A stdio server's own requests (here `roots/list`) during a client's call reach that client
//! through the gateway, in both eras: a legacy client is sent the request on its stream, a
//! modern client gets it as `input_required` of a parked call.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::python;

/// A raw stdio server whose `whereami` tool asks the client for its roots, then answers with
/// the first one.
const SERVER: &str = r#"
import json, sys
def send(m):
    print(json.dumps(m), flush=True)
def read():
    return json.loads(sys.stdin.readline())
while True:
    line = sys.stdin.readline()
    if not line:
        break
    m = json.loads(line)
    if "id" not in m or "method" not in m:
        continue
    if m["method"] == "initialize":
        send({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": m["params"]["protocolVersion"],
              "capabilities": {"tools": {}}, "serverInfo": {"name": "asker", "version": "1"}}})
    elif m["method"] == "tools/list":
        send({"jsonrpc": "2.0", "id": m["id"], "result": {"tools": [{"name": "whereami", "inputSchema": {"type": "object"}}]}})
    elif m["method"] == "tools/call":
        send({"jsonrpc": "2.0", "id": "ask-1", "method": "roots/list", "params": {}})
        answer = read()
        while answer.get("id") != "ask-1":
            answer = read()
        uri = answer.get("result", {}).get("roots", [{}])[0].get("uri", "none")
        send({"jsonrpc": "2.0", "id": m["id"], "result": {"content": [{"type": "text", "text": uri}]}})
"#;

fn post(body: &Value, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// The JSON-RPC messages of an answer, JSON or SSE.
fn messages(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    match serde_json::from_str(text) {
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_servers_request_reaches_its_client_in_both_eras() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let upstream = StdioUpstream::spawn(
        "asker",
        StdioConfig::new(python()).with_args(["-c", SERVER]),
    );
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("the stdio server started within 60 s");
    let front = McpFront::new(
        Direct::new(upstream),
        McpFrontConfig::new("gw", "1").unwrap(),
    );

    // Legacy: the request comes on the call's stream, the answer goes back by POST.
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"roots": {}},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = front.clone().oneshot(post(&init, &[])).await.unwrap();
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let legacy = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let call =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whereami"}});
    let res = front.clone().oneshot(post(&call, &legacy)).await.unwrap();
    let mut body = res.into_body();
    let ask = loop {
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        if let Some(m) = messages(&frame)
            .into_iter()
            .find(|m| m.get("method").is_some())
        {
            break m;
        }
    };
    assert_eq!(ask["method"], "roots/list");
    let answer = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": [{"uri": "file:///legacy"}]}});
    let ack = front.clone().oneshot(post(&answer, &legacy)).await.unwrap();
    assert_eq!(ack.status(), 202);
    let rest = body.collect().await.unwrap().to_bytes();
    let last = messages(&rest).pop().unwrap();
    assert_eq!(last["result"]["content"][0]["text"], "file:///legacy");

    // Modern: `input_required`, then the retry with the answer finishes the parked call.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"roots": {}}});
    let modern = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "whereami"),
    ];
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "whereami", "_meta": meta}});
    let res = front.clone().oneshot(post(&call, &modern)).await.unwrap();
    let first = messages(&res.into_body().collect().await.unwrap().to_bytes())
        .pop()
        .unwrap();
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let (key, ask) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(ask["method"], "roots/list");
    let retry = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "whereami", "_meta": meta, "requestState": result["requestState"],
        "inputResponses": {key.clone(): {"roots": [{"uri": "file:///modern"}]}}}});
    let res = front.clone().oneshot(post(&retry, &modern)).await.unwrap();
    let last = messages(&res.into_body().collect().await.unwrap().to_bytes())
        .pop()
        .unwrap();
    assert_eq!(
        last["result"]["content"][0]["text"], "file:///modern",
        "{last}"
    );
}
