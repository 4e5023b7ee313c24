//! A task belongs to the caller who started it (#11 finding 1): another caller, with another
//! API key or with a JWT carrying the same subject, can neither list, read, cancel, subscribe
//! to, continue, nor attach a webhook to it, in either A2A version and either binding. Every
//! attempt is an unknown task, answered without calling the agent.

mod support;

use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::Caller;
use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::testkit::TestClient;
use http::Method;
use serde_json::{Value, json};

fn alice() -> Caller {
    Caller::new("alice")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("acme")
}

/// Others: another API key in another tenant, and a JWT whose `sub` and tenant equal alice's.
fn others() -> [(&'static str, Caller); 2] {
    [
        (
            "bob (api key)",
            Caller::new("bob")
                .with_method(AuthMethod::ApiKey)
                .with_tenant("globex"),
        ),
        (
            "alice (jwt)",
            Caller::new("alice")
                .with_method(AuthMethod::Jwt)
                .with_issuer("https://idp.example.com")
                .with_tenant("acme"),
        ),
    ]
}

/// One attempt: method, path, `A2A-Version` header, body.
type Attempt = (Method, String, Option<&'static str>, Option<Value>);

fn rpc(method: &str, params: Value) -> Option<Value> {
    Some(json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
}

/// Every operation on the task `t` (context `c`) of `agent`, in each version and binding.
fn attempts(agent: &str, t: &str, c: &str) -> Vec<Attempt> {
    let v1 = Some("1.0");
    let p = format!("/{agent}");
    let msg1 = |extra: Value| {
        let mut m = json!({"messageId": "m2", "role": "ROLE_USER", "parts": [{"text": "more"}]});
        m.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
        json!({"message": m})
    };
    let msg03 = |extra: Value| {
        let mut m = json!({"kind": "message", "messageId": "m2", "role": "user",
            "parts": [{"kind": "text", "text": "more"}]});
        m.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
        json!({"message": m})
    };
    let hook = "https://hooks.example.com/mine";
    let post = Method::POST;
    vec![
        // JSON-RPC, 1.0.
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("GetTask", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("CancelTask", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("SubscribeToTask", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("SendMessage", msg1(json!({"taskId": t}))),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("SendStreamingMessage", msg1(json!({"contextId": c}))),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("ListTasks", json!({"contextId": c})),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc(
                "CreateTaskPushNotificationConfig",
                json!({"taskId": t, "url": hook}),
            ),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc(
                "GetTaskPushNotificationConfig",
                json!({"taskId": t, "id": "cfg-1"}),
            ),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc("ListTaskPushNotificationConfigs", json!({"taskId": t})),
        ),
        (
            post.clone(),
            p.clone(),
            v1,
            rpc(
                "DeleteTaskPushNotificationConfig",
                json!({"taskId": t, "id": "cfg-1"}),
            ),
        ),
        // JSON-RPC, 0.3.
        (
            post.clone(),
            p.clone(),
            None,
            rpc("tasks/get", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc("tasks/cancel", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc("tasks/resubscribe", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc("message/send", msg03(json!({"taskId": t}))),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc("message/stream", msg03(json!({"contextId": c}))),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc(
                "tasks/pushNotificationConfig/set",
                json!({"taskId": t, "pushNotificationConfig": {"url": hook}}),
            ),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc(
                "tasks/pushNotificationConfig/get",
                json!({"id": t, "pushNotificationConfigId": "cfg-1"}),
            ),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc("tasks/pushNotificationConfig/list", json!({"id": t})),
        ),
        (
            post.clone(),
            p.clone(),
            None,
            rpc(
                "tasks/pushNotificationConfig/delete",
                json!({"id": t, "pushNotificationConfigId": "cfg-1"}),
            ),
        ),
        // HTTP+JSON, 1.0 (one with a tenant in the path, which changes nothing).
        (Method::GET, format!("{p}/tasks/{t}"), v1, None),
        (Method::GET, format!("{p}/globex/tasks/{t}"), v1, None),
        (post.clone(), format!("{p}/tasks/{t}:cancel"), v1, None),
        (post.clone(), format!("{p}/tasks/{t}:subscribe"), v1, None),
        (
            post.clone(),
            format!("{p}/message:send"),
            v1,
            Some(msg1(json!({"taskId": t}))),
        ),
        (
            post.clone(),
            format!("{p}/message:stream"),
            v1,
            Some(msg1(json!({"contextId": c}))),
        ),
        (Method::GET, format!("{p}/tasks?contextId={c}"), v1, None),
        (
            post.clone(),
            format!("{p}/tasks/{t}/pushNotificationConfigs"),
            v1,
            Some(json!({"url": hook})),
        ),
        (
            Method::GET,
            format!("{p}/tasks/{t}/pushNotificationConfigs/cfg-1"),
            v1,
            None,
        ),
        (
            Method::GET,
            format!("{p}/tasks/{t}/pushNotificationConfigs"),
            v1,
            None,
        ),
        (
            Method::DELETE,
            format!("{p}/tasks/{t}/pushNotificationConfigs/cfg-1"),
            v1,
            None,
        ),
        // HTTP+JSON, 0.3.
        (Method::GET, format!("{p}/v1/tasks/{t}"), None, None),
        (post.clone(), format!("{p}/v1/tasks/{t}:cancel"), None, None),
        (
            post.clone(),
            format!("{p}/v1/message:send"),
            None,
            Some(
                json!({"request": {"messageId": "m2", "role": "ROLE_USER", "taskId": t,
                "content": [{"text": "more"}]}}),
            ),
        ),
        (
            post.clone(),
            format!("{p}/v1/tasks/{t}/pushNotificationConfigs"),
            None,
            Some(json!({"config": {"pushNotificationConfig": {"url": hook}}})),
        ),
        (
            Method::GET,
            format!("{p}/v1/tasks/{t}/pushNotificationConfigs/cfg-1"),
            None,
            None,
        ),
        (
            Method::DELETE,
            format!("{p}/v1/tasks/{t}/pushNotificationConfigs/cfg-1"),
            None,
            None,
        ),
    ]
}

async fn send<S>(client: &TestClient<S>, caller: &Caller, attempt: &Attempt) -> (u16, Value)
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<agent_gateway_a2a::body::A2aBody>,
        > + Clone,
    S::Error: Into<agent_gateway_core::BoxError>,
{
    let (method, path, version, body) = attempt;
    let mut req = client.request(method.clone(), path).caller(caller.clone());
    if let Some(v) = version {
        req = req.header("a2a-version", v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await;
    // A streaming method's error comes as an event stream carrying that one event.
    let json = match res.header("content-type") {
        Some(t) if t.starts_with("text/event-stream") => res
            .text()
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_default()
            .as_bytes(),
        _ => res.bytes(),
    };
    let body = serde_json::from_slice(json).unwrap_or_else(|_| res.text().into());
    (res.status().as_u16(), body)
}

fn is_task_not_found(status: u16, body: &Value, rpc: bool) -> bool {
    if rpc {
        body["error"]["code"] == -32001
    } else {
        status == 404 && body["error"]["details"][0]["reason"] == "TASK_NOT_FOUND"
    }
}

#[tokio::test]
async fn another_caller_cannot_touch_a_task_in_any_version_or_binding() {
    let (v1, v03) = (FakeAgent::new("echo"), FakeAgent::new("old").v03());
    let client = TestClient::new(support::front(support::registry(&[
        ("echo", &[("i1", &v1, Version::V1_0)]),
        ("old", &[("o1", &v03, Version::V0_3)]),
    ])));
    for (agent, fake) in [("echo", &v1), ("old", &v03)] {
        // Alice starts a task and attaches a webhook to it.
        let start = rpc(
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "SECRET"}]}}),
        );
        let attempt = (Method::POST, format!("/{agent}"), Some("1.0"), start);
        let (_, res) = send(&client, &alice(), &attempt).await;
        let task = &res["result"]["task"];
        let (t, c) = (
            task["id"].as_str().expect("a task id").to_owned(),
            task["contextId"].as_str().expect("a context id").to_owned(),
        );
        let hook = rpc(
            "CreateTaskPushNotificationConfig",
            json!({"taskId": t, "url": "https://hooks.example.com/alice"}),
        );
        let attempt = (Method::POST, format!("/{agent}"), Some("1.0"), hook);
        let (_, res) = send(&client, &alice(), &attempt).await;
        assert_eq!(
            res["result"]["url"], "https://hooks.example.com/alice",
            "{res}"
        );

        for (who, other) in others() {
            for attempt in attempts(agent, &t, &c) {
                let before = fake.calls();
                let (status, body) = send(&client, &other, &attempt).await;
                let rpc = attempt.1 == format!("/{agent}");
                assert!(
                    is_task_not_found(status, &body, rpc),
                    "{who} {} {}: {status} {body}",
                    attempt.0,
                    attempt.1
                );
                assert_eq!(
                    fake.calls(),
                    before,
                    "{who} {} {} reached the agent",
                    attempt.0,
                    attempt.1
                );
            }
        }
        // The owner still can: every read works, in both versions.
        let (_, res) = send(
            &client,
            &alice(),
            &(
                Method::GET,
                format!("/{agent}/tasks/{t}"),
                Some("1.0"),
                None,
            ),
        )
        .await;
        assert_eq!(res["id"], t.as_str(), "{res}");
        let (_, res) = send(
            &client,
            &alice(),
            &(
                Method::POST,
                format!("/{agent}"),
                None,
                rpc("tasks/get", json!({"id": t})),
            ),
        )
        .await;
        assert_eq!(res["result"]["status"]["state"], "completed", "{res}");
        let (_, res) = send(
            &client,
            &alice(),
            &(
                Method::POST,
                format!("/{agent}"),
                Some("1.0"),
                rpc("ListTaskPushNotificationConfigs", json!({"taskId": t})),
            ),
        )
        .await;
        assert_eq!(
            res["result"]["configs"].as_array().map(Vec::len),
            Some(1),
            "{res}"
        );
    }
}

#[tokio::test]
async fn listings_hold_only_the_callers_own_tasks() {
    let (a, b) = (FakeAgent::new("a"), FakeAgent::new("b"));
    let client = TestClient::new(support::front(support::registry(&[(
        "planner",
        &[("a", &a, Version::V1_0), ("b", &b, Version::V1_0)],
    )])));
    let start = |text: &str| {
        rpc(
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]}}),
        )
    };
    let mut mine = Vec::new();
    for i in 0..4 {
        let attempt = (
            Method::POST,
            "/planner".to_owned(),
            Some("1.0"),
            start(&format!("alice {i}")),
        );
        let (_, res) = send(&client, &alice(), &attempt).await;
        mine.push(
            res["result"]["task"]["id"]
                .as_str()
                .expect("an id")
                .to_owned(),
        );
    }
    for (_, other) in others() {
        let attempt = (
            Method::POST,
            "/planner".to_owned(),
            Some("1.0"),
            start("theirs"),
        );
        send(&client, &other, &attempt).await;
    }
    let list = (
        Method::POST,
        "/planner".to_owned(),
        Some("1.0"),
        rpc("ListTasks", json!({})),
    );
    let (_, res) = send(&client, &alice(), &list).await;
    let mut listed: Vec<String> = res["result"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["id"].as_str().expect("an id").to_owned())
        .collect();
    listed.sort();
    mine.sort();
    assert_eq!(listed, mine, "alice sees her four tasks and nothing else");
    assert_eq!(res["result"]["totalSize"], 4);
    assert!(!res.to_string().contains("theirs"));
    for (who, other) in others() {
        let (_, res) = send(&client, &other, &list).await;
        let tasks = res["result"]["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), 1, "{who} sees only its own task: {res}");
        assert!(!res.to_string().contains("alice"), "{who}: {res}");
    }
    // The HTTP+JSON listing is filtered the same way.
    let (_, other) = &others()[0];
    let (status, res) = send(
        &client,
        other,
        &(Method::GET, "/planner/tasks".to_owned(), Some("1.0"), None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(res["tasks"].as_array().map(Vec::len), Some(1), "{res}");
}
