//! The runnable gateway keeps each caller's A2A tasks to that caller: two API keys on the
//! embedded defaults' demo agent, in-process. Another key cannot list, read or cancel the first
//! key's task; the first key still can.

#![allow(clippy::unwrap_used, reason = "test code")]

use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use serde_json::{Value, json};

const A: &str = "agw-demo-key";
const B: &str = "key-b";

/// The embedded defaults plus a second API key (`key-b`, subject `bob`, another tenant).
async fn gateway() -> TestClient<axum::Router> {
    // SHA-256 of "key-b".
    let b = "[[auth.api_keys]]\nkey_sha256 = \
             \"a30534a53b23547377ddccbd1ac85a8a84c13db43493c16e55a6abc7b0eba634\"\n\
             subject = \"bob\"\ntenant = \"othertenant\"\n\n";
    let text =
        EMBEDDED_DEFAULT.replacen("[[auth.api_keys]]\n", &format!("{b}[[auth.api_keys]]\n"), 1);
    assert_ne!(text, EMBEDDED_DEFAULT, "the default API key section moved");
    let config = Config::from_toml_str(&text).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

async fn rpc(client: &TestClient<axum::Router>, key: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let res: TestResponse = client
        .post("/a2a/demo")
        .header("authorization", &format!("Bearer {key}"))
        .header("a2a-version", "1.0")
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.json()
}

#[tokio::test]
async fn another_key_cannot_list_read_or_cancel_a_task() {
    let client = gateway().await;
    let sent = rpc(
        &client,
        A,
        "SendMessage",
        json!({"message": {"messageId": "m1",
        "role": "ROLE_USER", "parts": [{"text": "TENANT-A SECRET"}]}}),
    )
    .await;
    let task = sent["result"]["task"]["id"].as_str().unwrap().to_owned();

    // B: its list is empty, and A's id is "not found" for every use.
    let listed = rpc(&client, B, "ListTasks", json!({})).await;
    assert_eq!(listed["result"]["tasks"], json!([]), "{listed}");
    assert!(!listed.to_string().contains("SECRET"), "{listed}");
    for method in ["GetTask", "CancelTask"] {
        let v = rpc(&client, B, method, json!({"id": task})).await;
        assert_eq!(v["error"]["code"], -32001, "{method}: {v}");
    }

    // A: its own task, listed and readable.
    let listed = rpc(&client, A, "ListTasks", json!({})).await;
    let tasks = listed["result"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{listed}");
    assert_eq!(tasks[0]["id"], task.as_str());
    let got = rpc(&client, A, "GetTask", json!({"id": task})).await;
    assert_eq!(
        got["result"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{got}"
    );
}
