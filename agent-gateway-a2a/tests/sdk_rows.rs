//! Real peers: task operations answer the same through the gateway as from an a2a-sdk 1.3.0
//! agent alone (#13: the gateway never lowers an agent's score). Two processes of the same
//! agent, one alone and one behind the gateway, get the same sequence of requests: sends, then
//! GetTask with historyLength, ListTasks paging, CancelTask on a finished task, push config
//! CRUD (the agent supports push) and the extended card, in 1.0 and 0.3, on JSON-RPC and
//! HTTP+JSON. Every answer is compared: status, kind, error codes and reasons, ids, and the
//! result's shape with minted ids and times masked. Needs the venv `.ci/peers` installs.

mod peers;

use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use peers::{rest, rpc, save, v1};
use serde_json::{Value, json};

/// The webhook of every push config: inside the gateway's allow-list, never called (the
/// agent has no push sender).
const HOOK: &str = "http://127.0.0.1:9/hook";

/// The 1.0 JSON-RPC rows.
fn jsonrpc_1_0() -> Vec<Value> {
    let msg = |text: &str| json!({"message": {"messageId": text, "role": "ROLE_USER", "parts": [{"text": text}]}});
    vec![
        save(
            v1(rpc(Some(1), "SendMessage", msg("one"))),
            &[("t1", "/result/task/id")],
        ),
        save(
            v1(rpc(Some(2), "SendMessage", msg("two"))),
            &[("c2", "/result/task/contextId")],
        ),
        v1(rpc(
            Some(3),
            "GetTask",
            json!({"id": "{t1}", "historyLength": 0}),
        )),
        v1(rpc(
            Some(4),
            "GetTask",
            json!({"id": "{t1}", "historyLength": 1}),
        )),
        v1(rpc(Some(5), "GetTask", json!({"id": "{t1}"}))),
        save(
            v1(rpc(Some(6), "ListTasks", json!({"pageSize": 1}))),
            &[("page", "/result/nextPageToken")],
        ),
        v1(rpc(
            Some(7),
            "ListTasks",
            json!({"pageSize": 1, "pageToken": "{page}"}),
        )),
        v1(rpc(Some(8), "ListTasks", json!({"contextId": "{c2}"}))),
        v1(rpc(Some(9), "ListTasks", json!({"pageSize": 0}))),
        v1(rpc(Some(10), "CancelTask", json!({"id": "{t1}"}))),
        v1(rpc(Some(11), "SubscribeToTask", json!({"id": "{t1}"}))),
        save(
            v1(rpc(
                Some(12),
                "CreateTaskPushNotificationConfig",
                json!({"taskId": "{t1}", "url": HOOK, "token": "tok"}),
            )),
            &[("p1", "/result/id")],
        ),
        v1(rpc(
            Some(13),
            "GetTaskPushNotificationConfig",
            json!({"taskId": "{t1}", "id": "{p1}"}),
        )),
        v1(rpc(
            Some(14),
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "{t1}"}),
        )),
        v1(rpc(
            Some(15),
            "DeleteTaskPushNotificationConfig",
            json!({"taskId": "{t1}", "id": "{p1}"}),
        )),
        v1(rpc(
            Some(16),
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "{t1}"}),
        )),
        v1(rpc(
            Some(17),
            "GetTaskPushNotificationConfig",
            json!({"taskId": "{t1}", "id": "{p1}"}),
        )),
        v1(rpc(Some(18), "GetExtendedAgentCard", json!({}))),
    ]
}

/// The 1.0 HTTP+JSON rows, on the task `{t1}` made above.
fn rest_1_0() -> Vec<Value> {
    vec![
        save(
            rest(
                "POST",
                "/message:send",
                json!({"message": {"messageId": "three", "role": "ROLE_USER", "parts": [{"text": "three"}]}}),
            ),
            &[("t3", "/task/id")],
        ),
        rest("GET", "/tasks/{t3}?historyLength=0", Value::Null),
        rest("GET", "/tasks/{t3}?historyLength=1", Value::Null),
        save(
            rest("GET", "/tasks?pageSize=1", Value::Null),
            &[("rpage", "/nextPageToken")],
        ),
        rest("GET", "/tasks?pageSize=1&pageToken={rpage}", Value::Null),
        rest("POST", "/tasks/{t3}:cancel", Value::Null),
        save(
            rest(
                "POST",
                "/tasks/{t3}/pushNotificationConfigs",
                json!({"url": HOOK, "token": "tok"}),
            ),
            &[("p3", "/id")],
        ),
        rest(
            "GET",
            "/tasks/{t3}/pushNotificationConfigs/{p3}",
            Value::Null,
        ),
        rest("GET", "/tasks/{t3}/pushNotificationConfigs", Value::Null),
        rest(
            "DELETE",
            "/tasks/{t3}/pushNotificationConfigs/{p3}",
            Value::Null,
        ),
        rest("GET", "/extendedAgentCard", Value::Null),
    ]
}

/// The 0.3 rows (no A2A-Version), on JSON-RPC and on the 0.3 HTTP+JSON dialect (`/v1/`).
fn rows_0_3() -> Vec<Value> {
    let msg = json!({"message": {"kind": "message", "messageId": "four", "role": "user",
        "parts": [{"kind": "text", "text": "four"}]}});
    vec![
        save(rpc(Some(21), "message/send", msg), &[("t4", "/result/id")]),
        rpc(
            Some(22),
            "tasks/get",
            json!({"id": "{t4}", "historyLength": 0}),
        ),
        rpc(
            Some(23),
            "tasks/get",
            json!({"id": "{t4}", "historyLength": 1}),
        ),
        rpc(Some(24), "tasks/cancel", json!({"id": "{t4}"})),
        save(
            rpc(
                Some(25),
                "tasks/pushNotificationConfig/set",
                json!({"taskId": "{t4}", "pushNotificationConfig": {"url": HOOK, "token": "tok"}}),
            ),
            &[("p4", "/result/pushNotificationConfig/id")],
        ),
        rpc(
            Some(26),
            "tasks/pushNotificationConfig/get",
            json!({"id": "{t4}", "pushNotificationConfigId": "{p4}"}),
        ),
        rpc(
            Some(27),
            "tasks/pushNotificationConfig/list",
            json!({"id": "{t4}"}),
        ),
        rpc(
            Some(28),
            "tasks/pushNotificationConfig/delete",
            json!({"id": "{t4}", "pushNotificationConfigId": "{p4}"}),
        ),
        rpc(Some(29), "agent/getAuthenticatedExtendedCard", json!({})),
        rest("GET", "/v1/tasks/{t4}?historyLength=0", Value::Null),
        rest("POST", "/v1/tasks/{t4}:cancel", Value::Null),
        rest("GET", "/v1/tasks/{t4}/pushNotificationConfigs", Value::Null),
        rest("GET", "/v1/card", Value::Null),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_operations_answer_the_same_alone_and_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let table: Vec<Value> = [jsonrpc_1_0(), rest_1_0(), rows_0_3()].concat();
    let alone = compare(Version::V1_0, &table).await;
    // The rows asked what they claim: the agent itself served them.
    assert_eq!(
        alone[0]["body"]["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(alone[9]["body"]["error"]["code"], -32002, "{}", alone[9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_operations_answer_the_same_through_a_gateway_speaking_0_3_to_the_agent() {
    let Some(_) = peers::python() else { return };
    // The same agent, registered as a 0.3 one: the gateway translates every 1.0 request.
    // Listing tasks has no 0.3 JSON-RPC method (a 0.3 agent cannot be asked), so those rows
    // are left out.
    let listing = |c: &Value| {
        c.pointer("/body/method") == Some(&json!("ListTasks"))
            || c["path"].as_str().is_some_and(|p| p.starts_with("/tasks?"))
    };
    let table: Vec<Value> = [jsonrpc_1_0(), rest_1_0(), rows_0_3()]
        .concat()
        .into_iter()
        .filter(|c| !listing(c))
        .collect();
    compare(Version::V0_3, &table).await;
}

/// Sends, in 1.0 on both bindings, a message that asks for input, then its answer, each with
/// a `historyLength`; reads the task back with one; streams a send with `historyLength: 0`;
/// and sends a 0.3 message with `historyLength: 0` (0.3's unset: all of it).
fn history_rows() -> Vec<Value> {
    let msg = |text: &str, task: Option<&str>, history: i64| {
        let mut m = json!({"messageId": text, "role": "ROLE_USER", "parts": [{"text": text}]});
        if let Some(t) = task {
            m["taskId"] = t.into();
        }
        json!({"message": m, "configuration": {"historyLength": history}})
    };
    let msg03 = json!({"message": {"kind": "message", "messageId": "m5", "role": "user",
        "parts": [{"kind": "text", "text": "five"}]}, "configuration": {"historyLength": 0}});
    vec![
        save(
            v1(rpc(Some(1), "SendMessage", msg("one", None, 0))),
            &[("t1", "/result/task/id")],
        ),
        v1(rpc(Some(2), "SendMessage", msg("two", Some("{t1}"), 1))),
        v1(rpc(
            Some(3),
            "GetTask",
            json!({"id": "{t1}", "historyLength": 2}),
        )),
        v1(rpc(Some(4), "GetTask", json!({"id": "{t1}"}))),
        v1(rpc(Some(5), "SendStreamingMessage", msg("three", None, 0))),
        save(
            rest("POST", "/message:send", msg("four", None, 0)),
            &[("t4", "/task/id")],
        ),
        rest("POST", "/message:send", msg("five", Some("{t4}"), 1)),
        rest("POST", "/message:stream", msg("six", None, 0)),
        rpc(Some(6), "message/send", msg03),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_length_on_a_send_answers_as_the_agent_does_through_a_0_3_one_too() {
    let Some(_) = peers::python() else { return };
    let table = history_rows();
    for version in [Version::V1_0, Version::V0_3] {
        let alone = compare_mode("input", version, &table).await;
        // The rows asked what they claim: no history for 0, the last message for 1, all of
        // it unset or in 0.3's 0.
        let task = |i: usize| {
            let body = &alone[i]["body"];
            let first = body.get(0).unwrap_or(body);
            first
                .pointer("/result/task")
                .or(first.get("task"))
                .or(first.get("result"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let history = |i: usize| task(i)["history"].as_array().map(Vec::len);
        assert_eq!(
            task(0)["status"]["state"],
            "TASK_STATE_INPUT_REQUIRED",
            "{}",
            alone[0]
        );
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 6, 7, 8].map(history),
            [
                None,
                Some(1),
                Some(2),
                Some(3),
                None,
                None,
                Some(1),
                None,
                Some(1)
            ],
            "{alone:#?}"
        );
    }
}

/// Sends `table` to an agent alone and to another process of it through a gateway speaking
/// `version` to it; fails on any difference; returns the agent's own answers.
async fn compare(version: Version, table: &[Value]) -> Vec<Value> {
    compare_mode("complete", version, table).await
}

/// [`compare`] with agents in `mode` (see `agent.py`).
async fn compare_mode(mode: &str, version: Version, table: &[Value]) -> Vec<Value> {
    let (_alone, alone_port) = peers::sdk_agent(&[mode, "ops", "--v03"]).await;
    let (_behind, behind_port) = peers::sdk_agent(&[mode, "ops", "--v03"]).await;
    let registry = peers::registry(&[("ops", &[("o1", behind_port, version)])]);
    let (gateway, _) = peers::gateway(registry, 10, |c| {
        c.with_webhooks(
            WebhookAllowList::new()
                .allow("http://127.0.0.1:9/")
                .expect("a prefix"),
        )
    })
    .await;
    let agent = format!("http://127.0.0.1:{alone_port}");
    let alone = peers::raw(&agent, "", "/rest", table).await;
    let through = peers::raw(&gateway.base, "/ops", "/ops", table).await;
    assert_eq!((alone.len(), through.len()), (table.len(), table.len()));
    // The one difference by design: a listing's totalSize counts the caller's own tasks on
    // the page, never the agent's count of every caller's tasks (#11, task ownership).
    let (alone, through): (Vec<Value>, Vec<Value>) = alone
        .into_iter()
        .zip(through)
        .map(|(mut a, mut g)| {
            if let Some(total) = without_total(&mut g) {
                let list = g["body"].get("result").unwrap_or(&g["body"]);
                assert_eq!(Some(total), list["tasks"].as_array().map(Vec::len), "{g}");
                assert!(without_total(&mut a).is_some(), "{a}");
            }
            (a, g)
        })
        .unzip();
    let differences: Vec<String> = table
        .iter()
        .zip(alone.iter().zip(&through))
        .filter(|(_, (a, g))| peers::seen(a, true) != peers::seen(g, true))
        .map(|(case, (a, g))| format!("{case}\n  alone:   {a}\n  gateway: {g}"))
        .collect();
    assert!(
        differences.is_empty(),
        "{version:?}: {}",
        differences.join("\n")
    );
    alone
}

/// Takes a listing's `totalSize` out of `answer`, returning it.
fn without_total(answer: &mut Value) -> Option<usize> {
    let body = &mut answer["body"];
    let list = match body.get_mut("result") {
        Some(result) => result,
        None => body,
    };
    let total = list.as_object_mut()?.remove("totalSize")?;
    total.as_u64().and_then(|n| usize::try_from(n).ok())
}
