//! Federation through the whole stack, what passes each hop: clients of both eras over HTTP
//! upstreams of both eras, `_meta` kept to its hop, `input_required` results and retries, and
//! mirrored argument headers.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig, McpRequest};
use serde_json::{Value, json};
use tower::ServiceExt;

fn name(s: &str) -> ServerName {
    ServerName::new(s).unwrap()
}

fn front<S>(inner: S) -> McpFront<S> {
    McpFront::new(inner, McpFrontConfig::new("gw", "1").unwrap())
}

fn names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn both_client_eras_over_http_upstreams_of_both_eras() {
    let modern = FakeMcpServer::new().with_echo_tool("new-tool");
    let legacy = FakeMcpServer::new().with_echo_tool("old-tool");
    let cfg = || McpFrontConfig::new("fake", "1").unwrap();
    let modern_up = HttpUpstream::new(
        modern.http(cfg().with_legacy(false)),
        "http://modern.test/mcp".parse().unwrap(),
    );
    let legacy_up = HttpUpstream::new(
        legacy.http(cfg().with_modern(false)),
        "http://legacy.test/mcp".parse().unwrap(),
    );
    let fed = Federation::builder()
        .member(Member::new(name("m"), modern_up.clone()))
        .member(Member::new(name("l"), legacy_up.clone()))
        .build()
        .unwrap();
    for (era, client) in [
        (Era::Modern, McpClient::modern(front(fed.clone()))),
        (Era::Legacy, McpClient::legacy(front(fed.clone()))),
    ] {
        assert_eq!(
            names(&client.list_tools().await.unwrap()),
            ["m__new-tool", "l__old-tool"],
            "{era:?}"
        );
        assert_eq!(
            text(
                &client
                    .call_tool("m__new-tool", json!({"a": 1}))
                    .await
                    .unwrap()
            ),
            r#"new-tool:{"a":1}"#
        );
        assert_eq!(
            text(&client.call_tool("l__old-tool", json!({})).await.unwrap()),
            "old-tool:{}"
        );
    }
    assert_eq!(modern_up.era().await, Some(Era::Modern));
    assert_eq!(legacy_up.era().await, Some(Era::Legacy));
    assert_eq!(
        (modern.calls_of("tools/call"), legacy.calls_of("tools/call")),
        (2, 2)
    );
}

#[tokio::test]
async fn protocol_meta_stays_on_its_hop_and_other_meta_travels_on() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let upstream = tower::service_fn(move |req: agent_gateway_mcp::upstream::UpstreamRequest| {
        record.lock().unwrap().push(req.params().clone());
        async { Ok::<_, BoxError>(serde_json::Map::new()) }
    });
    let fed = Federation::builder()
        .member(Member::new(name("u"), upstream))
        .build()
        .unwrap();
    let call = |meta: Value| {
        McpRequest::from_value(1, "tools/call", json!({"name": "u__t", "_meta": meta}))
    };
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "progressToken": 7,
                      "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"});
    fed.clone().oneshot(call(meta)).await.unwrap();
    fed.oneshot(call(
        json!({"io.modelcontextprotocol/clientCapabilities": {}}),
    ))
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0]["name"], "t");
    assert_eq!(
        seen[0]["_meta"],
        json!({"progressToken": 7, "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    );
    assert!(
        seen[1].get("_meta").is_none(),
        "an emptied _meta is dropped"
    );
}

#[tokio::test]
async fn input_required_results_and_retries_pass_through_untouched() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let server = tower::service_fn(move |req: agent_gateway_mcp::upstream::UpstreamRequest| {
        record.lock().unwrap().push(req.params().clone());
        let result = json!({
            "resultType": "input_required",
            "inputRequests": {"confirm": {"method": "elicitation/create",
                "params": {"message": "Deploy?", "requestedSchema": {"type": "object", "properties": {}}}}},
            "requestState": "opaque-state-1"
        });
        async move { Ok::<_, BoxError>(result.as_object().cloned().unwrap()) }
    });
    let fed = Federation::builder()
        .member(Member::new(name("ops"), server))
        .build()
        .unwrap();
    let client = McpClient::modern(front(fed));
    let first = client
        .call_tool("ops__deploy", json!({"env": "prod"}))
        .await
        .unwrap();
    assert_eq!(
        first["resultType"], "input_required",
        "the front keeps the upstream's resultType"
    );
    assert_eq!(first["requestState"], "opaque-state-1");
    assert_eq!(
        first["inputRequests"]["confirm"]["method"],
        "elicitation/create"
    );
    assert!(
        first.get("ttlMs").is_none(),
        "tools/call results are not cacheable"
    );
    // The retry carries inputResponses and requestState; they reach the upstream as sent.
    let responses = json!({"confirm": {"action": "accept", "content": {}}});
    let retry = json!({"name": "ops__deploy", "arguments": {"env": "prod"},
        "inputResponses": responses, "requestState": "opaque-state-1"});
    client.request("tools/call", retry).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["name"], "deploy");
    assert_eq!(seen[1]["inputResponses"], responses);
    assert_eq!(seen[1]["requestState"], "opaque-state-1");
}

#[tokio::test]
async fn mirrored_argument_headers_are_checked_and_sent_upstream() {
    use agent_gateway_mcp::upstream::UpstreamRequest;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let upstream = tower::service_fn(move |req: UpstreamRequest| {
        let result = match req.method_name() {
            "tools/list" => json!({"tools": [
                {"name": "deploy", "inputSchema": {"type": "object", "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"}}}},
                {"name": "broken", "inputSchema": {"type": "object", "properties": {
                    "x": {"type": "number", "x-mcp-header": "X"}}}}]}),
            _ => {
                let headers: Vec<(String, String)> = req
                    .param_headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                record.lock().unwrap().push(headers);
                json!({"content": []})
            }
        };
        async move { Ok::<_, BoxError>(result.as_object().cloned().unwrap()) }
    });
    let fed = Federation::builder()
        .member(Member::new(name("ops"), upstream))
        .build()
        .unwrap();
    let gateway = front(fed);
    // Listing teaches the gateway the declarations; a tool with an invalid one is dropped.
    let client = McpClient::modern(gateway.clone());
    assert_eq!(names(&client.list_tools().await.unwrap()), ["ops__deploy"]);

    let call = |header: Option<&str>| {
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                          "io.modelcontextprotocol/clientCapabilities": {}});
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "ops__deploy", "arguments": {"region": "eu-west"}, "_meta": meta}});
        let mut req = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "ops__deploy");
        if let Some(h) = header {
            req = req.header("mcp-param-region", h);
        }
        let req = req
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))
            .unwrap();
        let gateway = gateway.clone();
        async move {
            let res = gateway.oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    for bad in [None, Some("us-east"), Some("=?base64?ZXUtd2VzdA?=")] {
        let (status, body) = call(bad).await;
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (400, Some(-32020)),
            "{bad:?}"
        );
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "a mismatch reaches no upstream"
    );
    for good in ["eu-west", "=?base64?ZXUtd2VzdA==?="] {
        let (status, body) = call(Some(good)).await;
        assert_eq!(status, 200, "{body}");
    }
    // The upstream gets the header computed from the argument, whatever form the client used.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for headers in seen.iter() {
        assert_eq!(
            headers,
            &[("mcp-param-region".to_owned(), "eu-west".to_owned())]
        );
    }
}
