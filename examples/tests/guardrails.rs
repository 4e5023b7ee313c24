//! The runnable gateway with `[[guardrails]]`: the pin table (with a digest pinned in the
//! file) is served by the admin router, mounted behind the policy stack; PII and deny rules
//! rewrite or refuse MCP results and streamed OpenAI answers.

#![allow(clippy::unwrap_used)]

use agent_gateway_core::sse::{Decoder, Event};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::{app, policy::Policies};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use serde_json::{Value, json};

const KEY: &str = "Bearer agw-demo-key";

#[tokio::test]
async fn the_pin_admin_router_is_behind_the_policy_stack() {
    let text = format!(
        "{EMBEDDED_DEFAULT}\n[[guardrails]]\nid = \"pins\"\nkind = \"pin\"\npins = {{ \"demo__echo\" = \"{}\" }}\n",
        "00".repeat(32)
    );
    let config = Config::from_toml_str(&text).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let client = TestClient::new(app::router(&config, &policies).unwrap());

    let res = client.get("/admin/guardrails/pins").send().await;
    assert_eq!(res.status(), 401, "{}", res.text());
    let res = client
        .get("/admin/guardrails/pins")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json()[0]["tool"], "demo__echo");
    assert_eq!(res.json()[0]["changed"], false);
    let res = client
        .post("/admin/guardrails/pins/nope/approve")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 404, "{}", res.text());
    let res = client
        .post("/admin/guardrails/pins/demo__echo/approve?digest=zz")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    // Approving a tool never seen approves its pinned digest again: nothing changes.
    let res = client
        .post("/admin/guardrails/pins/demo__echo/approve")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"tool": "demo__echo", "approved": "00".repeat(32)})
    );
}

/// One modern MCP request through the gateway, with the demo key; the JSON-RPC answer.
async fn mcp(client: &TestClient<axum::Router>, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = client
        .post("/mcp")
        .header("authorization", KEY)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = body["params"]["name"].as_str() {
        req = req.header("mcp-name", name);
    }
    req.json(&body).send().await.json()
}

/// The embedded default with `guardrails` appended, served in-process.
async fn gateway(guardrails: &str) -> TestClient<axum::Router> {
    let config = Config::from_toml_str(&format!("{EMBEDDED_DEFAULT}\n{guardrails}")).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

#[tokio::test]
async fn a_pii_guardrail_redacts_an_mcp_tool_result_and_blocks_naming_its_rule() {
    // Responses only: the echoed address reaches the tool, and its result is redacted.
    let client = gateway(
        "[[guardrails]]\nid = \"pii\"\nkind = \"pii\"\non_requests = false\n\
         pii = { email = \"redact\", payment_card = \"redact\" }\n",
    )
    .await;
    let args = json!({"to": "ann@example.com", "card": "4111 1111 1111 1111", "bad": "4111 1111 1111 1112"});
    let answer = mcp(
        &client,
        "tools/call",
        json!({"name": "demo__echo", "arguments": args}),
    )
    .await;
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("echo:"), "{answer}");
    assert!(text.contains("[REDACTED:email]"), "{text}");
    assert!(text.contains("[REDACTED:payment_card]"), "{text}");
    assert!(!text.contains("ann@example.com"), "{text}");
    assert!(
        text.contains("4111 1111 1111 1112"),
        "a number failing Luhn is no card: {text}"
    );

    // Block mode: the call is refused with the MCP guardrail error naming the rule.
    let client =
        gateway("[[guardrails]]\nid = \"pii\"\nkind = \"pii\"\npii = { email = \"block\" }\n")
            .await;
    let answer = mcp(
        &client,
        "tools/call",
        json!({"name": "demo__echo", "arguments": {"to": "ann@example.com"}}),
    )
    .await;
    assert_eq!(answer["error"]["code"], -32006, "{answer}");
    assert_eq!(answer["error"]["data"]["rule"], "pii.email", "{answer}");
    let answer = mcp(
        &client,
        "tools/call",
        json!({"name": "demo__echo", "arguments": {"to": "nobody"}}),
    )
    .await;
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "echo:{\"to\":\"nobody\"}"
    );
}

/// A fake OpenAI provider on a loopback port answering `text`; its base URL.
async fn provider(text: &str) -> String {
    let fake = FakeProvider::new().with_default(Script::text(text));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback_service(fake);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The embedded default's demo provider replaced by one at `base_url`, and `guardrails`.
async fn llm_gateway(base_url: &str, guardrails: &str) -> TestClient<axum::Router> {
    let text = EMBEDDED_DEFAULT.replacen(
        "name = \"demo\"\nkind = \"demo\"",
        &format!("name = \"demo\"\nkind = \"openai\"\nbase_url = \"{base_url}\""),
        1,
    );
    assert_ne!(
        text, EMBEDDED_DEFAULT,
        "the default names its demo provider"
    );
    let config = Config::from_toml_str(&format!("{text}\n{guardrails}")).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

/// The events of a streamed chat completion: the text of its deltas, and the last event.
async fn stream_chat(client: &TestClient<axum::Router>) -> (u16, String, Vec<Event>) {
    let res = client
        .post("/v1/chat/completions")
        .header("authorization", KEY)
        .json(&json!({"model": "demo", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await;
    let mut events = Vec::new();
    let mut decoder = Decoder::new();
    decoder.feed(res.bytes(), &mut events).unwrap();
    assert!(!decoder.finish(), "the stream ends between events");
    let text = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(&e.data).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    (res.status().as_u16(), text, events)
}

#[tokio::test]
async fn a_pii_guardrail_redacts_a_streamed_openai_answer_and_blocks_mid_stream() {
    // The fake streams its text in two halves: the address spans them.
    let url = provider("write to ann@example.com, card 4111 1111 1111 1111.").await;
    let client = llm_gateway(
        &url,
        "[[guardrails]]\nid = \"pii\"\nkind = \"pii\"\n\
         pii = { email = \"redact\", payment_card = \"redact\" }\n",
    )
    .await;
    let (status, text, events) = stream_chat(&client).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        "write to [REDACTED:email], card [REDACTED:payment_card]."
    );
    assert_eq!(
        events.last().unwrap().data,
        "[DONE]",
        "still a valid stream"
    );

    let client = llm_gateway(
        &url,
        "[[guardrails]]\nid = \"pii\"\nkind = \"pii\"\npii = { email = \"block\" }\n",
    )
    .await;
    let (status, text, events) = stream_chat(&client).await;
    assert_eq!(status, 200, "the stream had started");
    assert!(
        !text.contains('@'),
        "nothing of the address went out: {text}"
    );
    let last: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(last["error"]["code"], "guardrail_blocked", "{last}");
    assert_eq!(
        last["error"]["message"],
        "blocked by guardrail (rule pii.email)"
    );
}

#[tokio::test]
async fn a_deny_rule_ends_a_streamed_answer_with_the_error_event() {
    let url = provider("the password is hunter2, keep it").await;
    let client = llm_gateway(
        &url,
        "[[guardrails]]\nid = \"deny\"\nkind = \"deny\"\non_requests = false\n\
         rules = [{ id = \"no-hunter\", keyword = \"hunter2\" }]\n",
    )
    .await;
    let (status, text, events) = stream_chat(&client).await;
    assert_eq!(status, 200);
    assert!(!text.contains("hunter"), "{text}");
    let last: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(last["error"]["code"], "guardrail_blocked", "{last}");
    assert_eq!(
        last["error"]["message"],
        "blocked by guardrail (rule no-hunter)"
    );
}
