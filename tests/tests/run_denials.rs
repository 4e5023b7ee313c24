//! A run's exhausted budget (#14 item 4) as each protocol's own denial, naming the limit hit:
//! a JSON-RPC error in both MCP eras, an A2A error on both bindings, and the OpenAI and
//! Anthropic error bodies. Each run may take one step; the second is refused before the
//! upstream.

#![allow(clippy::unwrap_used)]

mod run_fronts;

use agent_gateway_core::run::RUN_ID_HEADER;
use agent_gateway_core::store::MemoryStore;
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_policy::run::{RunLayer, RunLimits};
use http::HeaderValue;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use run_fronts::{a2a_client, a2a_message, a2a_travel, llm_client, llm_gpt, mcp_front, mcp_fs};

/// A run layer whose runs may take one step of the kind `limits` bounds.
fn runs(limits: RunLimits) -> RunLayer {
    RunLayer::new(MemoryStore::new()).with_limits(limits)
}

#[tokio::test]
async fn mcp_answers_an_exhausted_run_with_a_json_rpc_error_naming_the_limit_in_both_eras() {
    for (era, run) in [("modern", "run-modern"), ("legacy", "run-legacy")] {
        let (fs, fed) = mcp_fs();
        let stack = ServiceBuilder::new()
            .layer(runs(RunLimits::new().with_tool_calls(1)))
            .service(fed);
        let front = mcp_front(BoxCloneSyncService::new(stack));
        // Every request of this client names its run, as an agent inside a run does.
        let front = ServiceBuilder::new()
            .map_request(move |mut req: http::Request<_>| {
                req.headers_mut()
                    .insert(RUN_ID_HEADER, HeaderValue::from_static(run));
                req
            })
            .service(front);
        let client = if era == "modern" {
            McpClient::modern(front)
        } else {
            McpClient::legacy(front)
        };
        client
            .call_tool("fs__read_file", json!({"n": 1}))
            .await
            .unwrap();
        let err = client
            .call_tool("fs__read_file", json!({"n": 2}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32005), "{era}: {err:?}");
        let message = err.message().unwrap_or_default();
        assert!(message.contains("tool_calls"), "{era}: {message}");
        assert_eq!(fs.calls_of("tools/call"), 1, "{era}: no upstream call");
    }
}

#[tokio::test]
async fn a2a_answers_an_exhausted_run_on_both_bindings_naming_the_limit() {
    let (fake, router) = a2a_travel();
    let stack = ServiceBuilder::new()
        .layer(runs(RunLimits::new().with_steps(1)))
        .service(router);
    let client = a2a_client(BoxCloneSyncService::new(stack));
    let send = |n: u32| json!({"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": a2a_message(n)});
    let jsonrpc = |n: u32| {
        client
            .post("/travel")
            .header("a2a-version", "1.0")
            .header(RUN_ID_HEADER, "run-a2a")
            .json(&send(n))
            .send()
    };
    let res = jsonrpc(1).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.json()["result"].is_object(), "{}", res.text());

    let res = jsonrpc(2).await;
    assert_eq!(res.status(), 402, "{}", res.text());
    let body = res.json();
    assert_eq!(
        body["error"]["data"][0]["reason"], "BUDGET_EXHAUSTED",
        "{body}"
    );
    assert!(message(&body).contains("steps"), "{body}");

    let res = client
        .post("/travel/message:send")
        .header("a2a-version", "1.0")
        .header(RUN_ID_HEADER, "run-a2a")
        .json(&send(3)["params"])
        .send()
        .await;
    assert_eq!(res.status(), 402, "HTTP+JSON: {}", res.text());
    let body = res.json();
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED", "{body}");
    assert!(message(&body).contains("steps"), "{body}");
    assert_eq!(fake.calls(), 1, "no agent call once the run is spent");
}

#[tokio::test]
async fn llm_answers_an_exhausted_run_in_the_openai_and_anthropic_dialects_naming_the_limit() {
    let (fake, router) = llm_gpt();
    let stack = ServiceBuilder::new()
        .layer(runs(RunLimits::new().with_model_calls(1)))
        .service(router);
    let client = llm_client(BoxCloneSyncService::new(stack));
    let chat = |run: &'static str| {
        client
            .post("/v1/chat/completions")
            .header(RUN_ID_HEADER, run)
            .json(&json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let messages = |run: &'static str| {
        client
            .post("/v1/messages")
            .header(RUN_ID_HEADER, run)
            .json(&json!({"model": "gpt", "max_tokens": 16,
                "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };

    let res = chat("run-openai").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // OpenAI says an exhausted allowance with 429 `insufficient_quota`, Anthropic with 402
    // `billing_error` (the LLM front's render table).
    let res = chat("run-openai").await;
    assert_eq!(res.status(), 429, "{}", res.text());
    let body = res.json();
    assert_eq!(body["error"]["type"], "insufficient_quota", "{body}");
    assert!(message(&body).contains("model_calls"), "{body}");

    let res = messages("run-anthropic").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let res = messages("run-anthropic").await;
    assert_eq!(res.status(), 402, "{}", res.text());
    let body = res.json();
    assert_eq!(body["type"], "error", "an Anthropic error body: {body}");
    assert_eq!(body["error"]["type"], "billing_error", "{body}");
    assert!(message(&body).contains("model_calls"), "{body}");
    assert_eq!(fake.calls(), 2, "one upstream call per run");
}

/// The error message of a JSON-RPC, google.rpc, OpenAI or Anthropic error body.
fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}
