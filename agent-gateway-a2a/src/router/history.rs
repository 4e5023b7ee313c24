//! `historyLength` kept as the client's version means it, whatever the agent does with it.
//!
//! In 1.0, `historyLength` (on `GetTask`, `ListTasks`, and a send's `configuration`) is "at
//! most this many of the latest messages", and 0 is "none". A 0.3 agent reads 0 as proto3's
//! unset, the whole history (the version translation drops it on the way up for that reason),
//! and some 0.3 agents ignore the field on a send. So the gateway applies the client's limit
//! to every task it relays, results and streamed `Task` events alike: a no-op when the agent
//! already applied it, since the 1.0 rule is "MUST NOT return more".

use serde_json::Value;

use crate::op::Operation;
use crate::version::Version;

/// The history limit the client asked for with `op`'s `params` (as the client sent them, in
/// its `version`): `Some(n)` keeps at most the last `n` messages of every task. A 0.3 client's
/// 0 is unset, as in 0.3; a negative one is the agent's to refuse.
pub(crate) fn limit(op: Operation, version: Version, params: &Value) -> Option<usize> {
    let n = match op {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            params.pointer("/configuration/historyLength")
        }
        Operation::GetTask | Operation::ListTasks => params.get("historyLength"),
        _ => None,
    }?
    .as_i64()?;
    match (n, version) {
        (0, Version::V0_3) => None,
        (n, _) => usize::try_from(n).ok(),
    }
}

/// Trims the history of the task `value` is, or holds (a 1.0 `{task}` send result or stream
/// event, a 0.3 `kind: "task"` one, or a listing's `tasks`), to the last `limit` messages.
/// No history at all is left out, as ProtoJSON leaves out an empty list.
pub(crate) fn trim(value: &mut Value, limit: usize) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(tasks)) = obj.get_mut("tasks") {
        tasks.iter_mut().for_each(|t| trim(t, limit));
        return;
    }
    if let Some(task @ Value::Object(_)) = obj.get_mut("task") {
        return trim(task, limit);
    }
    if !obj.get("status").is_some_and(Value::is_object) || obj.contains_key("taskId") {
        return; // not a task: a message, or a status or artifact update
    }
    let Some(Value::Array(history)) = obj.get_mut("history") else {
        return;
    };
    if limit == 0 {
        obj.remove("history");
    } else if history.len() > limit {
        history.drain(..history.len() - limit);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(n: usize) -> Value {
        let history: Vec<Value> = (0..n)
            .map(|i| json!({"messageId": format!("m{i}")}))
            .collect();
        json!({"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"},
            "history": history})
    }

    #[test]
    fn the_limit_is_read_where_each_operation_takes_it() {
        let send = json!({"message": {}, "configuration": {"historyLength": 2}});
        for op in [Operation::SendMessage, Operation::SendStreamingMessage] {
            assert_eq!(limit(op, Version::V1_0, &send), Some(2));
            assert_eq!(limit(op, Version::V0_3, &send), Some(2));
        }
        let get = json!({"id": "t", "historyLength": 0});
        assert_eq!(limit(Operation::GetTask, Version::V1_0, &get), Some(0));
        assert_eq!(limit(Operation::ListTasks, Version::V1_0, &get), Some(0));
        // 0 is unset in 0.3; unset, negative, or on another operation: no limit.
        assert_eq!(limit(Operation::GetTask, Version::V0_3, &get), None);
        assert_eq!(
            limit(Operation::GetTask, Version::V1_0, &json!({"id": "t"})),
            None
        );
        let negative = json!({"id": "t", "historyLength": -1});
        assert_eq!(limit(Operation::GetTask, Version::V1_0, &negative), None);
        assert_eq!(limit(Operation::CancelTask, Version::V1_0, &get), None);
    }

    #[test]
    fn every_task_keeps_its_latest_messages_and_nothing_else_changes() {
        // A bare task (GetTask, a 0.3 send result or event), a 1.0 send result or event.
        let mut bare = task(3);
        trim(&mut bare, 2);
        assert_eq!(
            bare["history"],
            json!([{"messageId": "m1"}, {"messageId": "m2"}])
        );
        let mut wrapped = json!({"task": task(3)});
        trim(&mut wrapped, 0);
        assert_eq!(
            wrapped,
            json!({"task": {"id": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_COMPLETED"}}})
        );
        // A listing: each task.
        let mut list = json!({"tasks": [task(1), task(4)]});
        trim(&mut list, 1);
        assert_eq!(list["tasks"][0], task(1), "under the limit: as it was");
        assert_eq!(list["tasks"][1]["history"], json!([{"messageId": "m3"}]));
        // Not tasks: a message, a status update (it names its task), a string.
        for other in [
            json!({"message": {"messageId": "m", "history": [1, 2]}}),
            json!({"taskId": "t", "status": {"state": "x"}, "history": [1, 2]}),
            json!("x"),
        ] {
            let mut v = other.clone();
            trim(&mut v, 0);
            assert_eq!(v, other);
        }
    }
}
