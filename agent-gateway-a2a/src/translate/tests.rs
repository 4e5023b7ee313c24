use serde_json::json;

use super::*;

const V03: Version = Version::V0_3;
const V1: Version = Version::V1_0;

#[test]
fn messages_round_trip_with_every_part_kind() {
    let v03 = json!({"message": {"kind": "message", "messageId": "m", "role": "user", "parts": [
        {"kind": "text", "text": "hi"},
        {"kind": "data", "data": {"k": 1}},
        {"kind": "file", "file": {"uri": "https://x/y", "mimeType": "image/png", "name": "y.png"}},
        {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "text/plain"}},
    ]}});
    let v1 = params(Operation::SendMessage, V03, V1, v03.clone());
    assert_eq!(
        v1["message"]["parts"],
        json!([{"text": "hi"}, {"data": {"k": 1}},
               {"url": "https://x/y", "mediaType": "image/png", "filename": "y.png"},
               {"raw": "aGk=", "mediaType": "text/plain"}])
    );
    assert_eq!(v1["message"]["role"], "ROLE_USER");
    assert_eq!(params(Operation::SendMessage, V1, V03, v1), v03);
}

#[test]
fn tasks_round_trip_with_status_history_and_artifacts() {
    let v1 = json!({"task": {"id": "t", "contextId": "c",
        "status": {"state": "TASK_STATE_INPUT_REQUIRED", "message": {"messageId": "a", "role": "ROLE_AGENT", "parts": [{"text": "which?"}]}},
        "history": [{"messageId": "u", "role": "ROLE_USER", "parts": [{"text": "go"}]}],
        "artifacts": [{"artifactId": "x", "parts": [{"data": [1, 2]}]}]}});
    let v03 = result(Operation::SendMessage, V1, V03, v1.clone());
    assert_eq!(v03["kind"], "task");
    assert_eq!(v03["status"]["state"], "input-required");
    assert_eq!(v03["status"]["message"]["role"], "agent");
    assert_eq!(
        v03["artifacts"][0]["parts"][0],
        json!({"kind": "data", "data": [1, 2]})
    );
    assert_eq!(result(Operation::SendMessage, V03, V1, v03), v1);
    // A direct message answer, both ways.
    let msg =
        json!({"message": {"messageId": "a", "role": "ROLE_AGENT", "parts": [{"text": "done"}]}});
    let down = result(Operation::SendMessage, V1, V03, msg.clone());
    assert_eq!(down["kind"], "message");
    assert_eq!(result(Operation::SendMessage, V03, V1, down), msg);
}

#[test]
fn stream_events_carry_final_only_in_0_3() {
    let done = json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}});
    let working = json!({"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": "TASK_STATE_WORKING"}}});
    let d = stream_event(V1, V03, done.clone());
    assert_eq!(
        (
            d["kind"].clone(),
            d["final"].clone(),
            d["status"]["state"].clone()
        ),
        (json!("status-update"), json!(true), json!("completed"))
    );
    assert_eq!(stream_event(V1, V03, working)["final"], false);
    assert_eq!(stream_event(V03, V1, d), done);
    let art = json!({"artifactUpdate": {"taskId": "t", "contextId": "c", "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}, "lastChunk": true}});
    let a = stream_event(V1, V03, art.clone());
    assert_eq!(a["kind"], "artifact-update");
    assert_eq!(stream_event(V03, V1, a), art);
}

#[test]
fn configuration_and_push_configs() {
    let v03 = json!({"message": {"kind": "message", "messageId": "m", "role": "user", "parts": []},
        "configuration": {"blocking": false, "pushNotificationConfig": {"url": "https://h/x", "authentication": {"schemes": ["Bearer"], "credentials": "c"}}}});
    let v1 = params(Operation::SendMessage, V03, V1, v03);
    assert_eq!(v1["configuration"]["returnImmediately"], true);
    assert_eq!(
        v1["configuration"]["taskPushNotificationConfig"]["authentication"],
        json!({"scheme": "Bearer", "credentials": "c"})
    );
    let create = json!({"taskId": "t", "url": "https://h/x", "token": "k", "authentication": {"scheme": "Bearer"}});
    let down = params(Operation::CreatePushConfig, V1, V03, create.clone());
    assert_eq!(
        down,
        json!({"taskId": "t", "pushNotificationConfig": {"url": "https://h/x", "token": "k", "authentication": {"schemes": ["Bearer"]}}})
    );
    assert_eq!(params(Operation::CreatePushConfig, V03, V1, down), create);
    let get = params(
        Operation::GetPushConfig,
        V1,
        V03,
        json!({"taskId": "t", "id": "p"}),
    );
    assert_eq!(get, json!({"id": "t", "pushNotificationConfigId": "p"}));
    assert_eq!(
        params(Operation::GetPushConfig, V03, V1, get),
        json!({"taskId": "t", "id": "p"})
    );
    let list = result(
        Operation::ListPushConfigs,
        V03,
        V1,
        json!([{"taskId": "t", "pushNotificationConfig": {"id": "p", "url": "u"}}]),
    );
    assert_eq!(
        list,
        json!({"configs": [{"taskId": "t", "id": "p", "url": "u"}]})
    );
}

#[test]
fn proto03_dialect_both_ways() {
    let body = json!({"request": {"message_id": "m", "context_id": "c", "role": "ROLE_USER",
        "content": [{"text": "hi"}, {"data": {"data": {"snake_key": 1}}}, {"file": {"file_with_uri": "u", "mime_type": "t"}}]},
        "configuration": {"blocking": true, "history_length": 2}});
    let v1 = proto03::send_params_to_v1(body);
    assert_eq!(v1["message"]["messageId"], "m");
    assert_eq!(
        v1["message"]["parts"],
        json!([{"text": "hi"}, {"data": {"snake_key": 1}}, {"url": "u", "mediaType": "t"}])
    );
    assert_eq!(
        v1["configuration"],
        json!({"returnImmediately": false, "historyLength": 2})
    );
    let task = json!({"task": {"id": "t", "status": {"state": "TASK_STATE_CANCELED"},
        "history": [{"messageId": "m", "role": "ROLE_USER", "parts": [{"data": {"k": 1}}]}]}});
    let out = proto03::from_v1(task);
    assert_eq!(out["task"]["status"]["state"], "TASK_STATE_CANCELLED");
    assert_eq!(
        out["task"]["history"][0]["content"],
        json!([{"data": {"data": {"k": 1}}}])
    );
    assert!(out["task"]["history"][0].get("parts").is_none());
}
