use serde_json::json;

use super::affinity::{bind_context, open_ids, own_tasks, seal_ids};
use crate::error::A2aError;
use crate::op::Operation;
use crate::seal::Sealer;
use crate::version::Version;
use agent_gateway_core::Secret;

const O: crate::seal::Owner = [3; 16];

fn sealer() -> Sealer {
    Sealer::new(Secret::new(vec![1; 32])).expect("a key")
}

#[test]
fn results_are_sealed_everywhere_but_config_and_message_ids() {
    let s = sealer();
    let mut v = json!({"task": {"id": "t", "contextId": "c", "status": {"state": "x",
        "message": {"messageId": "m", "taskId": "t", "contextId": "c", "referenceTaskIds": ["r"]}}},
        "config": {"id": "cfg", "taskId": "t", "url": "u"}});
    seal_ids(&mut v, &|id| s.seal("a", &O, "i1", id)).expect("sealed");
    let open = |p: &str| {
        s.open("a", &O, v.pointer(p).and_then(|x| x.as_str()).expect(p))
            .map(|(_, id)| id)
    };
    assert_eq!(open("/task/id").as_deref(), Some("t"));
    assert_eq!(open("/task/contextId").as_deref(), Some("c"));
    assert_eq!(open("/task/status/message/taskId").as_deref(), Some("t"));
    assert_eq!(
        open("/task/status/message/referenceTaskIds/0").as_deref(),
        Some("r")
    );
    assert_eq!(open("/config/taskId").as_deref(), Some("t"));
    assert_eq!(v["task"]["status"]["message"]["messageId"], "m");
    assert_eq!(v["config"]["id"], "cfg");
}

#[test]
fn requests_open_to_one_instance_or_are_refused() {
    let s = sealer();
    let (t1, c1, t2) = (
        s.seal("a", &O, "i1", "t").expect("seal"),
        s.seal("a", &O, "i1", "c").expect("seal"),
        s.seal("a", &O, "i2", "u").expect("seal"),
    );
    // Allowed: a follow-up in a task and its context opens to their instance.
    let mut p = json!({"message": {"messageId": "m", "taskId": t1, "contextId": c1}});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::SendMessage, Version::V1_0, &mut p),
        Ok(Some("i1".into()))
    );
    assert_eq!(
        p["message"],
        json!({"messageId": "m", "taskId": "t", "contextId": "c"})
    );
    // Allowed: a context the client chose itself passes as is, to no instance in particular.
    let mut p = json!({"message": {"messageId": "m", "contextId": "mine"}});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::SendMessage, Version::V1_0, &mut p),
        Ok(None)
    );
    assert_eq!(p["message"]["contextId"], "mine");
    // Refused: ids of two instances, a task id never sealed, a task id of another agent.
    let mut p = json!({"message": {"messageId": "m", "taskId": t1, "contextId": s.seal("a", &O, "i2", "c").expect("seal")}});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::SendMessage, Version::V1_0, &mut p),
        Err(A2aError::TaskNotFound)
    );
    let mut p = json!({"id": "raw"});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::GetTask, Version::V1_0, &mut p),
        Err(A2aError::TaskNotFound)
    );
    let mut p = json!({"id": s.seal("b", &O, "i1", "t").expect("seal")});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::CancelTask, Version::V1_0, &mut p),
        Err(A2aError::TaskNotFound)
    );
    // A 0.3 push-config get names the task in `id`; a 1.0 one names the config there.
    let mut p = json!({"id": t2, "pushNotificationConfigId": "cfg"});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::GetPushConfig, Version::V0_3, &mut p),
        Ok(Some("i2".into()))
    );
    let mut p = json!({"taskId": s.seal("a", &O, "i2", "u").expect("seal"), "id": "cfg"});
    assert_eq!(
        open_ids(&s, "a", &O, Operation::GetPushConfig, Version::V1_0, &mut p),
        Ok(Some("i2".into()))
    );
    assert_eq!(p, json!({"taskId": "u", "id": "cfg"}));
    // A get without an id is invalid params, not a lookup.
    let mut p = json!({});
    assert!(matches!(
        open_ids(&s, "a", &O, Operation::GetTask, Version::V1_0, &mut p),
        Err(A2aError::InvalidParams(_))
    ));
}

#[test]
fn another_callers_ids_do_not_open_and_listings_keep_the_callers_own() {
    const OTHER: crate::seal::Owner = [4; 16];
    let s = sealer();
    let task = s.seal("a", &O, "i1", "t").expect("seal");
    let ctx = s.seal("a", &O, "i1", "c").expect("seal");
    for (op, mut p) in [
        (Operation::GetTask, json!({"id": task})),
        (Operation::CancelTask, json!({"id": task})),
        (Operation::SubscribeToTask, json!({"id": task})),
        (
            Operation::SendMessage,
            json!({"message": {"messageId": "m", "taskId": task}}),
        ),
        (
            Operation::SendMessage,
            json!({"message": {"messageId": "m", "contextId": ctx}}),
        ),
        (
            Operation::CreatePushConfig,
            json!({"taskId": task, "url": "https://h/x"}),
        ),
        (Operation::ListPushConfigs, json!({"taskId": task})),
        (Operation::ListTasks, json!({"contextId": ctx})),
    ] {
        assert_eq!(
            open_ids(&s, "a", &OTHER, op, Version::V1_0, &mut p),
            Err(A2aError::TaskNotFound),
            "{op:?}"
        );
    }
    // A new conversation gets a context naming its owner; a client-chosen one is wrapped.
    let mut p = json!({"message": {"messageId": "m"}});
    bind_context(&s, "a", &O, Operation::SendMessage, &mut p).expect("bound");
    let fresh = p["message"]["contextId"]
        .as_str()
        .expect("a context")
        .to_owned();
    assert!(s.context_owned_by("a", &O, &fresh));
    let mut p = json!({"message": {"messageId": "m", "contextId": "mine"}});
    bind_context(&s, "a", &OTHER, Operation::SendMessage, &mut p).expect("bound");
    let theirs = p["message"]["contextId"]
        .as_str()
        .expect("a context")
        .to_owned();
    assert!(theirs.ends_with(".mine") && s.context_owned_by("a", &OTHER, &theirs));
    // Listing by the client's own context id names the same upstream context.
    let mut p = json!({"contextId": "mine"});
    bind_context(&s, "a", &OTHER, Operation::ListTasks, &mut p).expect("bound");
    assert_eq!(p["contextId"], theirs.as_str());
    // Continuing a task, or a sealed context: left for `open_ids`.
    let mut p = json!({"message": {"messageId": "m", "taskId": task}});
    bind_context(&s, "a", &O, Operation::SendMessage, &mut p).expect("bound");
    assert!(p["message"].get("contextId").is_none());
    // The listing keeps only the caller's tasks, and does not count the others.
    let mut listing = json!({"tasks": [
        {"id": "t1", "contextId": fresh, "status": {}},
        {"id": "t2", "contextId": theirs, "status": {}},
        {"id": "t3", "contextId": "untagged", "status": {}},
    ], "totalSize": 3, "nextPageToken": ""});
    own_tasks(&s, "a", &O, &mut listing);
    assert_eq!(listing["tasks"].as_array().map(Vec::len), Some(1));
    assert_eq!(listing["tasks"][0]["id"], "t1");
    assert_eq!(listing["totalSize"], 1);
}

#[test]
fn a_config_id_that_is_its_task_id_is_sealed_and_opens_again() {
    let s = sealer();
    let sealed = s.seal("a", &O, "i1", "t").expect("seal");
    // 1.0 (flat, in a listing) and 0.3 (nested): the agent's default id is the task's.
    let mut v = json!({"configs": [{"id": "t", "taskId": "t", "url": "u"},
        {"id": "mine", "taskId": "t", "url": "u"}]});
    seal_ids(&mut v, &|id| s.seal("a", &O, "i1", id)).expect("sealed");
    assert_eq!(v["configs"][0]["id"], sealed.as_str());
    assert_eq!(v["configs"][0]["taskId"], sealed.as_str());
    assert_eq!(v["configs"][1]["id"], "mine", "a client's own id stays");
    let mut v = json!({"taskId": "t", "pushNotificationConfig": {"id": "t", "url": "u"}});
    seal_ids(&mut v, &|id| s.seal("a", &O, "i1", id)).expect("sealed");
    assert_eq!(v["pushNotificationConfig"]["id"], sealed.as_str());
    // Get, delete and create by it open it, in either version; a client's own id passes.
    for (op, version, mut p, raw) in [
        (
            Operation::GetPushConfig,
            Version::V1_0,
            json!({"taskId": sealed, "id": sealed}),
            json!({"taskId": "t", "id": "t"}),
        ),
        (
            Operation::DeletePushConfig,
            Version::V0_3,
            json!({"id": sealed, "pushNotificationConfigId": sealed}),
            json!({"id": "t", "pushNotificationConfigId": "t"}),
        ),
        (
            Operation::CreatePushConfig,
            Version::V0_3,
            json!({"taskId": sealed, "pushNotificationConfig": {"id": sealed}}),
            json!({"taskId": "t", "pushNotificationConfig": {"id": "t"}}),
        ),
        (
            Operation::CreatePushConfig,
            Version::V1_0,
            json!({"taskId": sealed, "id": "mine"}),
            json!({"taskId": "t", "id": "mine"}),
        ),
    ] {
        assert_eq!(
            open_ids(&s, "a", &O, op, version, &mut p),
            Ok(Some("i1".into())),
            "{op:?}"
        );
        assert_eq!(p, raw, "{op:?}");
    }
    // Refused: a config id sealed for another instance, or that does not open.
    let other = s.seal("a", &O, "i2", "t").expect("seal");
    for id in [other.as_str(), "g3.forged"] {
        let mut p = json!({"taskId": sealed, "id": id});
        assert_eq!(
            open_ids(
                &s,
                "a",
                &O,
                Operation::DeletePushConfig,
                Version::V1_0,
                &mut p
            ),
            Err(A2aError::TaskNotFound),
            "{id}"
        );
    }
}
