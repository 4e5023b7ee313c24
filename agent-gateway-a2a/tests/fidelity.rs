//! A2A answers as the agent would give them (#13 items 3 and 6), in-process: push-config
//! requests to an agent without push support get PushNotificationNotSupported before any
//! webhook check, a 1.0 request without an id is served (and answered with a null id)
//! while a 0.3 one is refused in a2a-sdk's order, and a streaming method's error before any
//! event is an event stream in 0.3 JSON-RPC and a plain JSON error in 1.0, as a2a-sdk answers.

mod support;

use agent_gateway_a2a::A2aFront;
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::testkit::TestClient;
use serde_json::{Value, json};

/// A webhook outside the test allow-list: an agent with push support would get -32602.
const OUTSIDE: &str = "http://169.254.169.254/latest";

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params})
}

/// A front over `echo` (1.0 agent without push) and `old` (0.3 agent without push); the front
/// reads the registry's cards when `with_agents`.
fn push_front(with_agents: bool) -> (TestClient<A2aFront<A2aRouter>>, FakeAgent, FakeAgent) {
    let v1 = FakeAgent::new("echo").without_push();
    let v03 = FakeAgent::new("old").v03().without_push();
    let registry = support::registry(&[
        ("echo", &[("i1", &v1, Version::V1_0)]),
        ("old", &[("o1", &v03, Version::V0_3)]),
    ]);
    let mut config = support::config();
    if with_agents {
        config = config.with_agents(registry.clone());
    }
    (
        TestClient::new(support::front_with(registry, config)),
        v1,
        v03,
    )
}

#[tokio::test]
async fn push_to_an_agent_without_push_is_32003_before_any_webhook_check() {
    let (client, v1, v03) = push_front(true);
    let msg1 = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let msg03 = json!({"kind": "message", "messageId": "m1", "role": "user",
        "parts": [{"kind": "text", "text": "hi"}]});
    // (agent, version header, JSON-RPC method, params)
    let rpc_cases: Vec<(&str, Option<&str>, &str, Value)> = vec![
        (
            "echo",
            Some("1.0"),
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t1", "url": OUTSIDE}),
        ),
        (
            "echo",
            Some("1.0"),
            "SendMessage",
            json!({"message": msg1,
            "configuration": {"taskPushNotificationConfig": {"url": OUTSIDE}}}),
        ),
        (
            "echo",
            Some("1.0"),
            "SendStreamingMessage",
            json!({"message": msg1,
            "configuration": {"taskPushNotificationConfig": {"url": OUTSIDE}}}),
        ),
        (
            "echo",
            Some("1.0"),
            "GetTaskPushNotificationConfig",
            json!({"taskId": "t1", "id": "c"}),
        ),
        (
            "echo",
            Some("1.0"),
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "t1"}),
        ),
        (
            "echo",
            Some("1.0"),
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": "t1", "id": "c"}),
        ),
        (
            "old",
            None,
            "tasks/pushNotificationConfig/set",
            json!({"taskId": "t1", "pushNotificationConfig": {"url": OUTSIDE}}),
        ),
        (
            "old",
            None,
            "message/send",
            json!({"message": msg03,
            "configuration": {"pushNotificationConfig": {"url": OUTSIDE}}}),
        ),
    ];
    for (agent, version, method, params) in rpc_cases {
        let mut req = client.post(&format!("/{agent}")).json(&rpc(method, params));
        if let Some(v) = version {
            req = req.header("a2a-version", v);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 200, "{method}: {}", res.text());
        let body = res.json();
        assert_eq!(body["error"]["code"], -32003, "{method}: {body}");
        assert_eq!(body["id"], 9, "{method}");
        assert_eq!(
            body["error"]["data"][0]["reason"], "PUSH_NOTIFICATION_NOT_SUPPORTED",
            "{method}"
        );
    }
    // HTTP+JSON, 1.0 and 0.3: 400 FAILED_PRECONDITION-style, with the ErrorInfo reason.
    let rest_cases: Vec<(&str, &str, Option<Value>)> = vec![
        (
            "POST",
            "/echo/tasks/t1/pushNotificationConfigs",
            Some(json!({"url": OUTSIDE})),
        ),
        (
            "POST",
            "/echo/message:send",
            Some(json!({"message": msg1,
            "configuration": {"taskPushNotificationConfig": {"url": OUTSIDE}}})),
        ),
        ("GET", "/echo/tasks/t1/pushNotificationConfigs", None),
        ("DELETE", "/echo/tasks/t1/pushNotificationConfigs/c", None),
        (
            "POST",
            "/old/v1/tasks/t1/pushNotificationConfigs",
            Some(json!({"config": {"pushNotificationConfig": {"url": OUTSIDE}}})),
        ),
    ];
    for (method, path, body) in rest_cases {
        let mut req = client.request(method.parse().expect("a method"), path);
        if path.starts_with("/echo") {
            req = req.header("a2a-version", "1.0");
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 400, "{method} {path}: {}", res.text());
        assert_eq!(
            res.json()["error"]["details"][0]["reason"],
            "PUSH_NOTIFICATION_NOT_SUPPORTED",
            "{method} {path}"
        );
    }
    // Only the cards were fetched (once each): no push request reached either agent.
    assert_eq!((v1.calls(), v03.calls()), (1, 1));
    // A send without a push config still works.
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&rpc("SendMessage", json!({"message": msg1})))
        .send()
        .await;
    assert_eq!(
        res.json()["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
}

#[tokio::test]
async fn the_router_refuses_push_on_its_own_when_the_webhook_passes() {
    // No registry in the front: the front checks only the webhook (allowed here), and the
    // router answers -32003 without calling the agent.
    let (client, v1, _) = push_front(false);
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&rpc(
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t1", "url": "https://hooks.example.com/x"}),
        ))
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], -32003, "{}", res.text());
    assert_eq!(v1.calls(), 1, "only the card was fetched");
    // An agent with push support gets the webhook checked as before: -32602 outside the list.
    let with_push = FakeAgent::new("echo");
    let registry = support::registry(&[("echo", &[("i1", &with_push, Version::V1_0)])]);
    let config = support::config().with_agents(registry.clone());
    let client = TestClient::new(support::front_with(registry, config));
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&rpc(
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t1", "url": OUTSIDE}),
        ))
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], -32602, "{}", res.text());
}

#[tokio::test]
async fn requests_without_an_id_get_the_agents_answers() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    // (version header, body, expected code): a2a-sdk 1.3's answers (tests/sdk_fidelity.rs
    // compares them with a real agent).
    let cases: Vec<(Option<&str>, Value, i64)> = vec![
        (
            None,
            json!({"jsonrpc": "2.0", "method": "nosuch/method", "params": {}}),
            -32601,
        ),
        (
            Some("1.0"),
            json!({"jsonrpc": "2.0", "method": "NoSuch", "params": {}}),
            -32601,
        ),
        (
            None,
            json!({"jsonrpc": "2.0", "id": null, "method": "nosuch/method"}),
            -32601,
        ),
        (
            None,
            json!({"jsonrpc": "2.0", "method": "GetTask", "params": {"id": "t"}}),
            -32009,
        ),
        (
            None,
            json!({"jsonrpc": "2.0", "method": "tasks/get", "params": {"id": "t"}}),
            -32600,
        ),
        (
            None,
            json!({"jsonrpc": "2.0", "method": "message/send", "params": "x"}),
            -32600,
        ),
        (
            Some("1.0"),
            json!({"jsonrpc": "2.0", "method": "SendMessage"}),
            -32602,
        ),
        (
            Some("1.0"),
            json!({"jsonrpc": "2.0", "method": "SendMessage", "params": {"message": "x"}}),
            -32602,
        ),
        (
            Some("1.0"),
            json!({"jsonrpc": "2.0", "id": null, "method": "SendMessage", "params": []}),
            -32602,
        ),
    ];
    for (version, body, code) in cases {
        let mut req = client.post("/echo").json(&body);
        if let Some(v) = version {
            req = req.header("a2a-version", v);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 200, "{body}");
        let got = res.json();
        assert_eq!(got["error"]["code"], code, "{body}: {got}");
        assert_eq!(got["id"], Value::Null, "{body}");
    }
    assert_eq!(fake.calls(), 0);
    // A valid 1.0 request without an id (or with a null one) is served, answered with a
    // null id: a send, then a get of its task, and a streamed send whose events carry null.
    let msg = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "method": "SendMessage", "params": {"message": msg}}))
        .send()
        .await;
    let sent = res.json();
    assert_eq!(sent["id"], Value::Null, "{sent}");
    assert_eq!(
        sent["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let task = sent["result"]["task"]["id"].clone();
    let got = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": null, "method": "GetTask", "params": {"id": task}}))
        .send()
        .await
        .json();
    assert_eq!(
        (&got["id"], &got["result"]["id"]),
        (&Value::Null, &task),
        "{got}"
    );
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "method": "SendStreamingMessage", "params": {"message": msg}}))
        .send()
        .await;
    assert_eq!(res.header("content-type"), Some("text/event-stream"));
    let events: Vec<Value> = res
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("a JSON event"))
        .collect();
    assert!(events.len() >= 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e["id"].is_null() && e["result"].is_object()),
        "{events:?}"
    );
    assert_eq!(fake.calls(), 3);
}

#[tokio::test]
async fn a_streaming_method_for_an_unknown_task_answers_as_the_agent_would() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    // 0.3 JSON-RPC: an event stream carrying the error; 1.0: the plain JSON error a 1.0
    // agent gives before its first event (a2a-sdk 1.3 alone answers both so).
    for (version, method, stream) in [
        (None, "tasks/resubscribe", true),
        (Some("1.0"), "SubscribeToTask", false),
    ] {
        let mut req = client
            .post("/echo")
            .json(&rpc(method, json!({"id": "not-a-sealed-id"})));
        if let Some(v) = version {
            req = req.header("a2a-version", v);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 200, "{method}");
        let event = if stream {
            assert_eq!(res.header("content-type"), Some("text/event-stream"));
            let data: Vec<&str> = res
                .text()
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            assert_eq!(data.len(), 1, "{method}: {}", res.text());
            serde_json::from_str(data[0]).expect("a JSON event")
        } else {
            assert_eq!(res.header("content-type"), Some("application/json"));
            res.json()
        };
        assert_eq!(event["error"]["code"], -32001, "{method}");
        assert_eq!(event["id"], 9, "{method}");
    }
    for (version, path) in [
        (Some("1.0"), "/echo/tasks/nope:subscribe"),
        (None, "/echo/v1/tasks/nope:subscribe"),
    ] {
        let mut req = client.post(path);
        if let Some(v) = version {
            req = req.header("a2a-version", v);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 404, "{path}: {}", res.text());
        assert_eq!(
            res.json()["error"]["details"][0]["reason"],
            "TASK_NOT_FOUND"
        );
    }
    // A unary method keeps its plain JSON error.
    let res = client
        .post("/echo")
        .json(&rpc("tasks/get", json!({"id": "nope"})))
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], -32001);
    assert_eq!(fake.calls(), 0);
}
