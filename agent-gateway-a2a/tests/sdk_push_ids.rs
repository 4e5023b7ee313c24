//! Real peers: a push config created without an id, through the gateway, in front of an
//! a2a-sdk 1.3.0 agent with push support. The agent gives such a config its task's id; the
//! client gets the sealed task id instead (never the agent's raw one), and gets and deletes
//! the config by it. Needs the venv `.ci/peers` installs (see `peers`).

mod peers;

use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_core::Caller;
use peers::{rest, rpc, save, v1};
use serde_json::{Value, json};

/// The webhook of every config: inside the gateway's allow-list, never called.
const HOOK: &str = "http://127.0.0.1:9/hook";

/// For each of 1.0 JSON-RPC, 0.3 JSON-RPC and 1.0 HTTP+JSON: a send, a create without an id
/// (saving the config id as `p`), a get and a delete by that id, then the listing.
fn rows() -> Vec<Value> {
    let msg =
        json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}});
    let msg03 = json!({"message": {"kind": "message", "messageId": "m2", "role": "user",
        "parts": [{"kind": "text", "text": "hi"}]}});
    vec![
        save(
            v1(rpc(Some(1), "SendMessage", msg.clone())),
            &[("t1", "/result/task/id")],
        ),
        save(
            v1(rpc(
                Some(2),
                "CreateTaskPushNotificationConfig",
                json!({"taskId": "{t1}", "url": HOOK}),
            )),
            &[("p1", "/result/id")],
        ),
        v1(rpc(
            Some(3),
            "GetTaskPushNotificationConfig",
            json!({"taskId": "{t1}", "id": "{p1}"}),
        )),
        v1(rpc(
            Some(4),
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": "{t1}", "id": "{p1}"}),
        )),
        v1(rpc(
            Some(5),
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "{t1}"}),
        )),
        save(rpc(Some(6), "message/send", msg03), &[("t2", "/result/id")]),
        save(
            rpc(
                Some(7),
                "tasks/pushNotificationConfig/set",
                json!({"taskId": "{t2}", "pushNotificationConfig": {"url": HOOK}}),
            ),
            &[("p2", "/result/pushNotificationConfig/id")],
        ),
        rpc(
            Some(8),
            "tasks/pushNotificationConfig/get",
            json!({"id": "{t2}", "pushNotificationConfigId": "{p2}"}),
        ),
        rpc(
            Some(9),
            "tasks/pushNotificationConfig/delete",
            json!({"id": "{t2}", "pushNotificationConfigId": "{p2}"}),
        ),
        rpc(
            Some(10),
            "tasks/pushNotificationConfig/list",
            json!({"id": "{t2}"}),
        ),
        save(rest("POST", "/message:send", msg), &[("t3", "/task/id")]),
        save(
            rest(
                "POST",
                "/tasks/{t3}/pushNotificationConfigs",
                json!({"url": HOOK}),
            ),
            &[("p3", "/id")],
        ),
        rest(
            "GET",
            "/tasks/{t3}/pushNotificationConfigs/{p3}",
            Value::Null,
        ),
        rest(
            "DELETE",
            "/tasks/{t3}/pushNotificationConfigs/{p3}",
            Value::Null,
        ),
        rest("GET", "/tasks/{t3}/pushNotificationConfigs", Value::Null),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_created_without_an_id_is_named_by_the_sealed_task_id() {
    let Some(_) = peers::python() else { return };
    let table = rows();
    for version in [Version::V1_0, Version::V0_3] {
        let (_agent, port) = peers::sdk_agent(&["complete", "push", "--v03"]).await;
        let registry = peers::registry(&[("push", &[("p1", port, version)])]);
        let (gateway, sealer) = peers::gateway(registry, 11, |c| {
            c.with_webhooks(
                WebhookAllowList::new()
                    .allow("http://127.0.0.1:9/")
                    .expect("a prefix"),
            )
        })
        .await;
        let answers = peers::raw(&gateway.base, "/push", "/push", &table).await;
        let body = |i: usize| {
            let b = &answers[i]["body"];
            b.get("result").unwrap_or(b).clone()
        };
        for (i, (task, config)) in [
            (body(0)["task"]["id"].clone(), body(1)["id"].clone()),
            (
                body(5)["id"].clone(),
                body(6)["pushNotificationConfig"]["id"].clone(),
            ),
            (body(10)["task"]["id"].clone(), body(11)["id"].clone()),
        ]
        .into_iter()
        .enumerate()
        {
            // As from the agent alone, the config id is the task id: here the sealed one,
            // which opens to the agent's own id, and that id appears in no answer.
            let (task, config) = (
                task.as_str().expect("a task id"),
                config.as_str().expect("a config id"),
            );
            assert_eq!(config, task, "{version:?} row {i}: {answers:#?}");
            let (instance, raw) = sealer
                .open("push", &Caller::anonymous().owner_digest(), config)
                .expect("sealed for the caller");
            assert_eq!(instance, "p1");
            assert!(Sealer::looks_sealed(config) && !Sealer::looks_sealed(&raw));
            let all = Value::from(answers.clone()).to_string();
            assert!(
                !all.contains(&raw),
                "{version:?}: the raw id {raw} leaked: {all}"
            );
        }
        // Got and deleted by that id; none left.
        for (get, delete, list) in [(2, 3, 4), (7, 8, 9), (12, 13, 14)] {
            for i in [get, delete, list] {
                assert_eq!(answers[i]["status"], 200, "{version:?} {}", answers[i]);
                assert!(answers[i]["body"].get("error").is_none(), "{}", answers[i]);
            }
            let got = body(get);
            let config = got.get("pushNotificationConfig").unwrap_or(&got);
            assert_eq!(config["url"], HOOK, "{version:?}: {got}");
            assert_eq!(
                config["id"],
                body(get - 1)["id"].as_str().map_or_else(
                    || body(get - 1)["pushNotificationConfig"]["id"].clone(),
                    Value::from,
                )
            );
            let list = body(list);
            let left = list["configs"]
                .as_array()
                .or(list.as_array())
                .map_or(0, Vec::len);
            assert_eq!(left, 0, "{version:?}: {list}");
        }
    }
}
