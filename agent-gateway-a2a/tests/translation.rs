//! A client and an instance that speak different versions: names and shapes are translated.

mod support;

use agent_gateway_a2a::testkit::{A2aClient, FakeAgent};
use agent_gateway_a2a::version::Version;
use serde_json::{Value, json};

#[tokio::test(start_paused = true)]
async fn v03_client_and_1_0_agent() {
    let fake = FakeAgent::new("echo");
    let client = A2aClient::new(support::front(support::registry(&[(
        "echo",
        &[("i1", &fake, Version::V1_0)],
    )])))
    .with_version(Version::V0_3);
    let task = client.send_text("echo", "hi").await.expect("a task");
    assert_eq!(task["kind"], "task");
    assert_eq!(task["status"]["state"], "completed");
    assert_eq!(
        task["artifacts"][0]["parts"][0],
        json!({"kind": "text", "text": "echo: hi"})
    );
    assert_eq!(task["history"][0]["role"], "user");
    let id = task["id"].as_str().expect("an id");
    let got = client
        .call("echo", "tasks/get", json!({"id": id}))
        .await
        .expect("the task");
    assert_eq!(got["kind"], "task");
    let canceled = client
        .call("echo", "tasks/cancel", json!({"id": id}))
        .await
        .expect("canceled");
    assert_eq!(canceled["status"]["state"], "canceled");
}

#[tokio::test(start_paused = true)]
async fn v1_client_and_0_3_agent_including_push_config_crud() {
    let fake = FakeAgent::new("old").v03();
    let client = A2aClient::new(support::front(support::registry(&[(
        "old",
        &[("i1", &fake, Version::V0_3)],
    )])));
    let file = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}, {"url": "https://x/y.png", "mediaType": "image/png", "filename": "y.png"}]});
    let res = client
        .call(
            "old",
            "SendMessage",
            json!({"message": file, "configuration": {"returnImmediately": false}}),
        )
        .await
        .expect("a task");
    assert_eq!(res["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(res["task"]["history"][0]["role"], "ROLE_USER");
    assert_eq!(
        res["task"]["history"][0]["parts"][1],
        json!({"url": "https://x/y.png", "mediaType": "image/png", "filename": "y.png"})
    );
    let id = res["task"]["id"].as_str().expect("an id").to_owned();

    let created = client
        .call(
            "old",
            "CreateTaskPushNotificationConfig",
            json!({"taskId": id, "url": "https://hooks.example.com/t", "token": "tok"}),
        )
        .await
        .expect("created");
    assert_eq!(created["url"], "https://hooks.example.com/t");
    assert_eq!(created["taskId"], id.as_str());
    let config_id = created["id"].as_str().expect("a config id").to_owned();
    let got = client
        .call(
            "old",
            "GetTaskPushNotificationConfig",
            json!({"taskId": id, "id": config_id}),
        )
        .await
        .expect("got");
    assert_eq!(got["token"], "tok");
    let list = client
        .call(
            "old",
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id}),
        )
        .await
        .expect("listed");
    assert_eq!(list["configs"].as_array().map(Vec::len), Some(1));
    let deleted = client
        .call(
            "old",
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": id, "id": config_id}),
        )
        .await
        .expect("deleted");
    assert_eq!(
        deleted,
        Value::Null,
        "a null result, as a 1.0 agent answers"
    );
    let list = client
        .call(
            "old",
            "ListTaskPushNotificationConfigs",
            json!({"taskId": id}),
        )
        .await
        .expect("listed");
    // No config left: ProtoJSON leaves the empty list out, as a 1.0 agent answers.
    assert_eq!(list, json!({}));

    // ListTasks has no 0.3 JSON-RPC method: refused without calling the agent.
    let calls = fake.calls();
    let err = client
        .call("old", "ListTasks", json!({}))
        .await
        .expect_err("unsupported");
    assert_eq!(err.code, -32004);
    assert_eq!(fake.calls(), calls);
    // The agent's own errors are relayed.
    let err = client
        .call("old", "GetExtendedAgentCard", json!({}))
        .await
        .expect_err("not configured");
    assert_eq!(err.code, -32007);
}
