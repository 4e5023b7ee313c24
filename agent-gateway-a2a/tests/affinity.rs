//! Task affinity across two instances: new messages are balanced, everything about a task goes
//! to its owner, on any replica sharing the key, and a down instance is failed over.

mod support;

use agent_gateway_a2a::testkit::{A2aClient, FakeAgent};
use agent_gateway_a2a::version::Version;
use serde_json::json;

fn two() -> (FakeAgent, FakeAgent) {
    (FakeAgent::new("a"), FakeAgent::new("b"))
}

#[tokio::test(start_paused = true)]
async fn follow_ups_go_to_the_owner_on_any_replica() {
    let (a, b) = two();
    let registry = || {
        support::registry(&[(
            "planner",
            &[("a", &a, Version::V1_0), ("b", &b, Version::V1_0)],
        )])
    };
    let gw1 = A2aClient::new(support::front(registry()));
    let gw2 = A2aClient::new(support::front(registry()));
    let sealer = support::sealer();
    let mut owners = std::collections::BTreeMap::new();
    for _ in 0..16 {
        let res = gw1.send_text("planner", "hi").await.expect("a task");
        let id = res["task"]["id"].as_str().expect("a task id").to_owned();
        let ctx = res["task"]["contextId"]
            .as_str()
            .expect("a context id")
            .to_owned();
        let (owner, raw) = sealer
            .open(
                "planner",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                &id,
            )
            .expect("a sealed id");
        assert!(
            raw.starts_with(&format!("{owner}-task-")),
            "{raw} served by {owner}"
        );
        assert_eq!(
            sealer
                .open(
                    "planner",
                    &agent_gateway_core::Caller::anonymous().owner_digest(),
                    &ctx
                )
                .map(|(i, _)| i),
            Some(owner.clone())
        );
        owners.insert(id, owner);
    }
    assert!(
        owners.values().any(|o| o == "a") && owners.values().any(|o| o == "b"),
        "both instances served"
    );
    for (id, owner) in &owners {
        let (before_a, before_b) = (a.calls(), b.calls());
        // The second replica knows nothing but the shared key.
        let task = gw2
            .call("planner", "GetTask", json!({"id": id}))
            .await
            .expect("the task");
        assert_eq!(task["id"], id.as_str());
        let (da, db) = (a.calls() - before_a, b.calls() - before_b);
        assert_eq!(
            (da, db),
            if owner == "a" { (1, 0) } else { (0, 1) },
            "task {id}"
        );
    }
    // A follow-up message in the task, and one in its context only, reach the owner.
    let (id, owner) = owners.iter().next().expect("a task");
    let owner_fake = if owner == "a" { &a } else { &b };
    let before = owner_fake.calls();
    let follow = json!({"message": {"messageId": "m2", "role": "ROLE_USER", "taskId": id, "parts": [{"text": "more"}]}});
    let res = gw2
        .call("planner", "SendMessage", follow)
        .await
        .expect("the follow-up");
    assert_eq!(res["task"]["id"], id.as_str());
    let cancel = gw1
        .call("planner", "CancelTask", json!({"id": id}))
        .await
        .expect("canceled");
    assert_eq!(cancel["status"]["state"], "TASK_STATE_CANCELED");
    assert_eq!(owner_fake.calls(), before + 2);
}

#[tokio::test(start_paused = true)]
async fn new_messages_fail_over_and_tasks_stay_pinned() {
    let (a, b) = two();
    let gw = A2aClient::new(support::front(support::registry(&[(
        "planner",
        &[("a", &a, Version::V1_0), ("b", &b, Version::V1_0)],
    )])));
    let sealer = support::sealer();
    let first = gw.send_text("planner", "hi").await.expect("a task");
    let first_id = first["task"]["id"].as_str().expect("an id").to_owned();
    let (first_owner, _) = sealer
        .open(
            "planner",
            &agent_gateway_core::Caller::anonymous().owner_digest(),
            &first_id,
        )
        .expect("sealed");
    let (down, up) = if first_owner == "a" {
        (&a, &b)
    } else {
        (&b, &a)
    };
    down.set_down(true);
    for _ in 0..6 {
        let res = gw
            .send_text("planner", "hi")
            .await
            .expect("served by the other instance");
        let id = res["task"]["id"].as_str().expect("an id");
        assert_ne!(
            sealer
                .open(
                    "planner",
                    &agent_gateway_core::Caller::anonymous().owner_digest(),
                    id
                )
                .map(|(i, _)| i),
            Some(first_owner.clone())
        );
    }
    // The down instance's task is not sent elsewhere: it fails, and the other is not asked.
    let up_calls = up.calls();
    let err = gw
        .call("planner", "GetTask", json!({"id": first_id}))
        .await
        .expect_err("owner is down");
    assert_eq!(err.code, -32603);
    assert_eq!(up.calls(), up_calls);
    down.set_down(false);
    // Its circuit breaker may have opened: let it cool down (tokio time is paused).
    tokio::time::advance(std::time::Duration::from_secs(600)).await;
    let task = gw
        .call("planner", "GetTask", json!({"id": first_id}))
        .await
        .expect("owner is back");
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED");
}

#[tokio::test(start_paused = true)]
async fn list_tasks_without_context_asks_every_instance_and_seals_each() {
    let (a, b) = two();
    let gw = A2aClient::new(support::front(support::registry(&[(
        "planner",
        &[("a", &a, Version::V1_0), ("b", &b, Version::V1_0)],
    )])));
    for _ in 0..8 {
        gw.send_text("planner", "hi").await.expect("a task");
    }
    let list = gw
        .call("planner", "ListTasks", json!({}))
        .await
        .expect("a list");
    let tasks = list["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 8);
    assert_eq!(a.task_ids().len() + b.task_ids().len(), 8);
    let sealer = support::sealer();
    for t in tasks {
        let (owner, raw) = sealer
            .open(
                "planner",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                t["id"].as_str().expect("an id"),
            )
            .expect("sealed");
        assert!(raw.starts_with(&owner));
    }
}
