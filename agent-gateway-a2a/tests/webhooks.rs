//! Push webhooks cannot escape the allow-list through an alias or through translation
//! (#11 findings 2 and 24): each URL-bearing field is checked, two of them are refused, and
//! the params sent upstream are checked again after version translation.

mod support;

use agent_gateway_a2a::op::Operation;
use agent_gateway_a2a::request::{A2aRequest, Binding};
use agent_gateway_a2a::router::{A2aRouter, find_a2a_error};
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::testkit::TestClient;
use serde_json::{Value, json};
use tower::ServiceExt;

const OK: &str = "https://hooks.example.com/ok";
const INTERNAL: &str = "http://169.254.169.254/latest/meta-data/";

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": params})
}

#[tokio::test]
async fn aliases_are_refused_in_both_directions_without_reaching_the_agent() {
    let (v1, v03) = (FakeAgent::new("new"), FakeAgent::new("old").v03());
    let client = TestClient::new(support::front(support::registry(&[
        ("new", &[("n1", &v1, Version::V1_0)]),
        ("old", &[("o1", &v03, Version::V0_3)]),
    ])));
    let send1 = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let send03 = json!({"kind": "message", "messageId": "m1", "role": "user",
        "parts": [{"kind": "text", "text": "hi"}]});
    for (agent, fake) in [("new", &v1), ("old", &v03)] {
        let res = client
            .post(&format!("/{agent}"))
            .header("a2a-version", "1.0")
            .json(&rpc("SendMessage", json!({"message": send1})))
            .send()
            .await;
        let task = res.json()["result"]["task"]["id"]
            .as_str()
            .expect("a task")
            .to_owned();
        // (version header, method, params, expected JSON-RPC code)
        let cases: Vec<(Option<&str>, &str, Value, i64)> = vec![
            // The review's repro 1: 0.3 set with both `url` and `pushNotificationConfig.url`.
            (
                None,
                "tasks/pushNotificationConfig/set",
                json!({"taskId": task, "url": OK, "pushNotificationConfig": {"url": INTERNAL}}),
                -32602,
            ),
            (
                None,
                "tasks/pushNotificationConfig/set",
                json!({"taskId": task, "url": INTERNAL, "pushNotificationConfig": {"url": OK}}),
                -32602,
            ),
            (
                Some("1.0"),
                "CreateTaskPushNotificationConfig",
                json!({"taskId": task, "url": OK, "pushNotificationConfig": {"url": INTERNAL}}),
                -32602,
            ),
            // The review's repro 2: a send with both configuration aliases.
            (
                None,
                "message/send",
                json!({"message": send03, "configuration": {
                "taskPushNotificationConfig": {"url": OK}, "pushNotificationConfig": {"url": INTERNAL}}}),
                -32602,
            ),
            (
                Some("1.0"),
                "SendMessage",
                json!({"message": send1, "configuration": {
                "taskPushNotificationConfig": {"url": OK}, "pushNotificationConfig": {"url": INTERNAL}}}),
                -32602,
            ),
            // One alias, pointing inside the network, or escaping the prefix.
            (
                None,
                "tasks/pushNotificationConfig/set",
                json!({"taskId": task, "pushNotificationConfig": {"url": INTERNAL}}),
                -32602,
            ),
            (
                Some("1.0"),
                "CreateTaskPushNotificationConfig",
                json!({"taskId": task, "url": "https://hooks.example.com/x/%2e%2e/admin"}),
                -32602,
            ),
        ];
        for (version, method, params, code) in cases {
            let before = fake.calls();
            let mut req = client.post(&format!("/{agent}"));
            if let Some(v) = version {
                req = req.header("a2a-version", v);
            }
            let res = req.json(&rpc(method, params.clone())).send().await;
            assert_eq!(
                res.json()["error"]["code"],
                code,
                "{agent} {method} {params}: {}",
                res.text()
            );
            assert_eq!(
                fake.calls(),
                before,
                "{agent} {method} {params} reached the agent"
            );
        }
        // Allowed: one alias inside the list, in either version, reaches the agent as sent.
        for (version, method, params) in [
            (
                None,
                "tasks/pushNotificationConfig/set",
                json!({"taskId": task, "pushNotificationConfig": {"url": OK}}),
            ),
            (
                Some("1.0"),
                "CreateTaskPushNotificationConfig",
                json!({"taskId": task, "url": OK}),
            ),
        ] {
            let mut req = client.post(&format!("/{agent}"));
            if let Some(v) = version {
                req = req.header("a2a-version", v);
            }
            let res = req.json(&rpc(method, params)).send().await;
            assert!(
                res.json()["result"].is_object(),
                "{agent} {method}: {}",
                res.text()
            );
            let sent = fake.last_params();
            let url = sent
                .get("url")
                .or_else(|| sent.pointer("/pushNotificationConfig/url"));
            assert_eq!(url, Some(&json!(OK)), "{agent} {method}: {sent}");
        }
    }
}

#[tokio::test]
async fn the_http_json_bodies_are_checked_before_the_dialect_folds_them() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&rpc(
            "SendMessage",
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
        ))
        .send()
        .await;
    let task = res.json()["result"]["task"]["id"]
        .as_str()
        .expect("a task")
        .to_owned();
    let before = fake.calls();
    // 0.3 HTTP+JSON: `config.pushNotificationConfig.url` plus a top-level `url`.
    let res = client
        .post(&format!("/echo/v1/tasks/{task}/pushNotificationConfigs"))
        .json(&json!({"url": OK, "config": {"pushNotificationConfig": {"url": INTERNAL}}}))
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    // 0.3 HTTP+JSON send: `pushNotification` and `push_notification` fold into one key.
    let res = client
        .post("/echo/v1/message:send")
        .json(&json!({"request": {"messageId": "m2", "role": "ROLE_USER", "content": [{"text": "x"}]},
            "configuration": {"pushNotification": {"url": OK}, "push_notification": {"url": INTERNAL}}}))
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    assert_eq!(fake.calls(), before);
}

#[tokio::test]
async fn the_router_checks_the_translated_params_on_its_own() {
    let fake = FakeAgent::new("echo");
    let registry = support::registry(&[("echo", &[("i1", &fake, Version::V1_0)])]);
    let router = A2aRouter::new(registry, support::sealer())
        .with_webhooks(support::config().webhooks().clone());
    let send = A2aRequest::new(
        "echo",
        Operation::SendMessage,
        Version::V1_0,
        Binding::Rest { tenant: None },
        json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "x"}]}}),
    );
    let res = router.clone().oneshot(send).await.expect("a task");
    let agent_gateway_a2a::response::Reply::Result(v) = res.into_reply() else {
        panic!("a result")
    };
    let task = v["task"]["id"].as_str().expect("an id").to_owned();
    // No front: a 0.3 set whose translation keeps the nested (internal) URL and drops the
    // checked one is refused on what the agent would have read.
    let set = A2aRequest::new(
        "echo",
        Operation::CreatePushConfig,
        Version::V0_3,
        Binding::JsonRpc { id: Some(1.into()) },
        json!({"taskId": task, "url": OK, "pushNotificationConfig": {"url": INTERNAL}}),
    );
    // The router reads the agent's (cached) card for its push capability: fetched here, so
    // that the count below is of push configs reaching the agent.
    router.agents().card("echo").await.expect("the card");
    let before = fake.calls();
    let err = router.clone().oneshot(set).await.expect_err("refused");
    assert_eq!(find_a2a_error(&*err).map(|e| e.code()), Some(-32602));
    assert_eq!(fake.calls(), before);
    // A router without an allow-list refuses every webhook (fail closed).
    let bare = A2aRouter::new(router.agents().clone(), support::sealer());
    let set = A2aRequest::new(
        "echo",
        Operation::CreatePushConfig,
        Version::V1_0,
        Binding::Rest { tenant: None },
        json!({"taskId": task, "url": OK}),
    );
    let err = bare.oneshot(set).await.expect_err("refused");
    assert_eq!(find_a2a_error(&*err).map(|e| e.code()), Some(-32602));
    assert_eq!(fake.calls(), before);
}
