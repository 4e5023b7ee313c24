//! A gateway configured with an MCP upstream of several instances (`urls`), in-process,
//! in front of demo servers on loopback ports: calls are balanced over the instances, and
//! continue when one of them is gone.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::Config;
use agent_gateway_examples::demo::mcp::DemoMcpServer;
use agent_gateway_examples::{app, policy::Policies};
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Serves the demo MCP server on a loopback port; its URL and how many calls it served.
async fn instance() -> (String, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let server = tower::service_fn(move |req: UpstreamRequest| {
        count.fetch_add(1, Ordering::SeqCst);
        async move { DemoMcpServer::new().oneshot(req).await }
    });
    let config = McpFrontConfig::new("demo", "1")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*"]);
    let front = McpFront::new(Direct::new(server), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let app = axum::Router::new().route_service("/mcp", front);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, served)
}

/// A URL where nothing listens: a port the OS gave out, closed again.
async fn gone() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}/mcp", listener.local_addr().unwrap())
}

async fn gateway(urls: [&str; 2]) -> TestClient<axum::Router> {
    let toml = format!(
        "[auth]\nrequired = false\n[mcp]\nallowed_hosts = [\"*\"]\n\
         [[mcp.upstreams]]\nname = \"search\"\nurls = [\"{}\", \"{}\"]\n\
         breaker = {{ failures = 1, cooldown_ms = 600000 }}\n",
        urls[0], urls[1]
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

/// One modern MCP request through the gateway; the JSON-RPC answer.
async fn mcp(client: &TestClient<axum::Router>, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = body["params"]["name"].as_str() {
        req = req.header("mcp-name", name);
    }
    let res = req.json(&body).send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_balanced_over_the_configured_instances() {
    let ((a, on_a), (b, on_b)) = (instance().await, instance().await);
    let client = gateway([&a, &b]).await;
    let calls = (0..16).map(|i| {
        let client = &client;
        async move {
            mcp(
                client,
                "tools/call",
                json!({"name": "search__echo", "arguments": {"i": i}}),
            )
            .await
        }
    });
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer["result"]["content"][0]["type"], "text", "{answer}");
    }
    let (on_a, on_b) = (on_a.load(Ordering::SeqCst), on_b.load(Ordering::SeqCst));
    assert!(on_a > 0 && on_b > 0, "a served {on_a}, b served {on_b}");
}

#[tokio::test]
async fn with_one_instance_gone_every_call_is_served_by_the_other() {
    let ((a, on_a), b) = (instance().await, gone().await);
    let client = gateway([&a, &b]).await;
    // A listing that reaches the dead instance is retried on `a`, and that one failure opens
    // its breaker (failures = 1); `a` answers faster than an instance never heard from is
    // assumed to, so p2c prefers it anyway. Either way no call fails.
    for _ in 0..8 {
        let answer = mcp(&client, "tools/list", json!({})).await;
        assert_eq!(
            answer["result"]["tools"][0]["name"], "search__echo",
            "{answer}"
        );
    }
    for i in 0..8 {
        let answer = mcp(
            &client,
            "tools/call",
            json!({"name": "search__echo", "arguments": {"i": i}}),
        )
        .await;
        assert_eq!(
            answer["result"]["content"][0]["text"],
            format!("echo:{{\"i\":{i}}}"),
            "{answer}"
        );
    }
    assert!(on_a.load(Ordering::SeqCst) >= 16);
}
