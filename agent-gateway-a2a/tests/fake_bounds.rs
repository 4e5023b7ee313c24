//! The fake agent (also the gateway's demo agent) keeps bounded state (#11 finding 4): a fixed
//! number of recent tasks, a byte cap, and a few push configs per task.

use agent_gateway_a2a::testkit::{A2aClient, DEFAULT_MAX_TASKS, FakeAgent, MAX_CONFIGS_PER_TASK};
use serde_json::json;

#[tokio::test]
async fn tasks_are_bounded_by_count_and_by_bytes() {
    let agent = FakeAgent::new("echo");
    let client = A2aClient::new(agent.connector());
    for i in 0..DEFAULT_MAX_TASKS + 10 {
        client
            .send_text("", &format!("m{i}"))
            .await
            .expect("a task");
    }
    let ids = agent.task_ids();
    assert_eq!(ids.len(), DEFAULT_MAX_TASKS);
    assert_eq!(ids[0], "echo-task-11", "the oldest were forgotten first");
    let gone = client
        .call("", "GetTask", json!({"id": "echo-task-1"}))
        .await;
    assert_eq!(gone.expect_err("forgotten").code, -32001);

    let small = FakeAgent::new("echo").with_max_bytes(16 * 1024);
    let client = A2aClient::new(small.connector());
    let big = "x".repeat(4 * 1024);
    for _ in 0..20 {
        client.send_text("", &big).await.expect("a task");
        assert!(
            small.stored_bytes() <= 16 * 1024,
            "{}",
            small.stored_bytes()
        );
    }
    assert!(small.task_ids().len() < 4, "{:?}", small.task_ids());
    // A task larger than the whole budget is answered, and not kept.
    let huge = "y".repeat(32 * 1024);
    let res = client.send_text("", &huge).await.expect("a task");
    assert_eq!(res["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert!(small.stored_bytes() <= 16 * 1024);
}

#[tokio::test]
async fn push_configs_are_bounded_per_task() {
    let agent = FakeAgent::new("echo");
    let client = A2aClient::new(agent.connector());
    let task = client.send_text("", "hi").await.expect("a task");
    let id = task["task"]["id"].as_str().expect("an id").to_owned();
    let create = json!({"taskId": id, "url": "https://hooks.example.com/x"});
    for _ in 0..MAX_CONFIGS_PER_TASK {
        client
            .call("", "CreateTaskPushNotificationConfig", create.clone())
            .await
            .expect("created");
    }
    let refused = client
        .call("", "CreateTaskPushNotificationConfig", create)
        .await
        .expect_err("one too many");
    assert_eq!(refused.code, -32602);
}
