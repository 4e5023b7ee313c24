//! One quota, configured once, is shared by the LLM, MCP and A2A fronts of the runnable
//! gateway: calls spread over the three fronts are granted exactly the limit, in-process.

#![allow(clippy::unwrap_used, reason = "test code")]

use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use serde_json::{Value, json};

const LIMIT: usize = 5;

/// The embedded defaults with the demo key's quota lowered to `LIMIT` calls an hour.
fn config() -> Config {
    let text = EMBEDDED_DEFAULT.replace(
        "limit = 600\nperiod_secs = 60\n",
        &format!("limit = {LIMIT}\nperiod_secs = 3600\n"),
    );
    assert_ne!(text, EMBEDDED_DEFAULT, "the default quota moved");
    Config::from_toml_str(&text).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Front {
    Llm,
    Mcp,
    A2a,
}

async fn call(client: &TestClient<axum::Router>, front: Front, i: usize) -> TestResponse {
    let auth = "Bearer agw-demo-key";
    match front {
        Front::Llm => {
            let body = json!({"model": "demo", "messages": [{"role": "user", "content": "hi"}]});
            let req = client
                .post("/v1/chat/completions")
                .header("authorization", auth);
            req.json(&body).send().await
        }
        Front::Mcp => {
            let body = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
                "name": "demo__echo", "arguments": {"i": i},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {}
                }
            }});
            client
                .post("/mcp")
                // The gateway listens on loopback, so the MCP front checks `Host`.
                .header("host", "127.0.0.1:8080")
                .header("authorization", auth)
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", "demo__echo")
                .json(&body)
                .send()
                .await
        }
        Front::A2a => {
            let body = json!({"jsonrpc": "2.0", "id": i.to_string(), "method": "SendMessage",
                "params": {"message": {"messageId": format!("m{i}"), "role": "ROLE_USER",
                "parts": [{"text": "hi"}]}}});
            client
                .post("/a2a/demo")
                .header("authorization", auth)
                .header("a2a-version", "1.0")
                .json(&body)
                .send()
                .await
        }
    }
}

fn granted(res: &TestResponse) -> bool {
    let body: Value = serde_json::from_slice(res.bytes()).unwrap_or(Value::Null);
    res.status() == 200 && body.get("error").is_none()
}

#[tokio::test]
async fn one_quota_is_shared_by_the_llm_mcp_and_a2a_fronts() {
    let config = config();
    let policies = Policies::from_config(&config).await.unwrap();
    let client = TestClient::new(app::router(&config, &policies).unwrap());
    let fronts = [Front::Llm, Front::Mcp, Front::A2a];

    let mut outcomes = Vec::new();
    for i in 0..3 * LIMIT {
        let front = fronts[i % 3];
        let res = call(&client, front, i).await;
        outcomes.push((front, granted(&res), res.status(), res.text().to_owned()));
    }
    let granted_count = outcomes.iter().filter(|(_, ok, _, _)| *ok).count();
    assert_eq!(granted_count, LIMIT, "{outcomes:#?}");
    // The first LIMIT calls, over all three fronts, were granted; every later one was refused
    // by the quota, in its front's own dialect.
    assert!(outcomes[..LIMIT].iter().all(|o| o.1), "{outcomes:#?}");
    for (front, ok, status, text) in &outcomes[LIMIT..] {
        assert!(!ok, "{front:?}: {text}");
        match front {
            Front::Llm => {
                assert_eq!(status.as_u16(), 429, "{text}");
                assert!(text.contains("rate_limit"), "{text}");
            }
            Front::Mcp | Front::A2a => {
                let body: Value = serde_json::from_str(text).unwrap();
                assert!(body["error"]["code"].is_i64(), "{front:?}: {body}");
            }
        }
    }
    // The calls that were granted went to every front.
    for front in fronts {
        assert!(
            outcomes[..LIMIT].iter().any(|o| o.0 == front),
            "{front:?} never served"
        );
    }
    let quota = policies.layer().quota().expect("a quota is configured");
    assert_eq!(quota.fail_open_count(), 0);
}
