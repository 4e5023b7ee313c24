//! The embedding example (`examples/examples/embed.rs`, also in the README), driven in-process:
//! one stack with a custom check and a quota on tool and model calls, in front of an LLM front
//! and an MCP front mounted in an axum `Router`.

#![allow(clippy::unwrap_used, reason = "test code")]

#[path = "../examples/embed.rs"]
#[allow(dead_code, reason = "the example's `main` is not run here")]
mod embed;

use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_mcp::error::{CODE_FORBIDDEN, CODE_QUOTA_EXCEEDED};
use agent_gateway_mcp::testkit::McpClient;
use serde_json::json;

const KEY: &str = "Bearer sk-embed";

async fn chat(client: &TestClient<axum::Router>, model: &str) -> TestResponse {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    client
        .post("/v1/chat/completions")
        .header("authorization", KEY)
        .json(&body)
        .send()
        .await
}

async fn message(client: &TestClient<axum::Router>, model: &str) -> TestResponse {
    let body = json!({"model": model, "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}]});
    client
        .post("/v1/messages")
        .header("x-api-key", "sk-embed")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
}

fn mcp(app: &axum::Router) -> McpClient<axum::Router> {
    McpClient::legacy(app.clone()).with_bearer("sk-embed")
}

#[test]
fn the_readme_shows_this_example() {
    let example = include_str!("../examples/embed.rs");
    let start = example.find("use std::num::NonZeroU64;").unwrap();
    let end = example.find("#[tokio::main]").unwrap();
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(example[start..end].trim_end()),
        "README's \"Embed in your axum app\" differs from examples/examples/embed.rs"
    );
}

#[tokio::test]
async fn the_check_denies_in_each_clients_own_dialect() {
    let app = embed::app();
    let http = TestClient::new(app.clone());

    // OpenAI: 403 with an OpenAI error object.
    let res = chat(&http, "delete-me").await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(
        res.json()["error"]["type"],
        "invalid_request_error",
        "{}",
        res.text()
    );
    // Anthropic: 403 with an Anthropic error envelope.
    let res = message(&http, "delete-me").await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(res.json()["type"], "error", "{}", res.text());
    assert_eq!(
        res.json()["error"]["type"],
        "permission_error",
        "{}",
        res.text()
    );
    // MCP: a JSON-RPC error with the policy code.
    let err = mcp(&app)
        .request("tools/call", json!({"name": "delete_all", "arguments": {}}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(CODE_FORBIDDEN), "{err}");

    // Allowed: the same clients are served.
    let res = chat(&http, "small").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let echoed = mcp(&app)
        .request("tools/call", json!({"name": "echo", "arguments": {"x": 1}}))
        .await
        .unwrap();
    assert!(echoed["content"].is_array(), "{echoed:?}");
}

#[tokio::test]
async fn a_legacy_mcp_client_initializes_and_lists_freely_while_calls_are_counted() {
    let app = embed::app();
    let http = TestClient::new(app.clone());
    let client = mcp(&app);

    // `initialize`, its notification and `tools/list`, many times over: never counted.
    for _ in 0..5 {
        let tools = mcp(&app).list_tools().await.unwrap();
        assert_eq!(tools.len(), 2);
    }
    // Three calls a minute, tool and model calls together.
    let call = json!({"name": "echo", "arguments": {}});
    assert!(client.request("tools/call", call.clone()).await.is_ok());
    assert_eq!(chat(&http, "small").await.status(), 200);
    assert!(client.request("tools/call", call.clone()).await.is_ok());
    // The fourth is refused, in each dialect, and listing still works.
    let err = client.request("tools/call", call).await.unwrap_err();
    assert_eq!(err.code(), Some(CODE_QUOTA_EXCEEDED), "{err}");
    let res = chat(&http, "small").await;
    assert_eq!(res.status(), 429, "{}", res.text());
    assert_eq!(res.json()["error"]["type"], "rate_limit_error");
    assert_eq!(client.list_tools().await.unwrap().len(), 2);
}
