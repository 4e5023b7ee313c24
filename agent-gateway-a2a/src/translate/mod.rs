//! Translation between A2A 0.3 and 1.0 shapes, for a client and an upstream instance that speak
//! different versions.
//!
//! Covered: method names; `Message` (role names, `kind` tags, text/data/file parts ↔
//! text/data/raw/url parts, `name`/`mimeType` ↔ `filename`/`mediaType`); `Task` (state names,
//! status message, history, artifacts); the send result (`{task}`/`{message}` ↔ `kind`-tagged
//! object); stream events (`statusUpdate`/`artifactUpdate` ↔ `status-update`/`artifact-update`,
//! with 0.3's `final` derived from the state); `configuration` (`blocking` ↔
//! `returnImmediately`, `pushNotificationConfig` ↔ `taskPushNotificationConfig`); push-config
//! params and results (nested ↔ flattened, `schemes[]` ↔ `scheme`). Not covered: extension and
//! security metadata inside messages, which pass through unchanged; `ListTasks` has no 0.3
//! JSON-RPC method and is refused towards a 0.3 instance.
//!
//! ```
//! use agent_gateway_a2a::op::Operation;
//! use agent_gateway_a2a::translate::{params, result};
//! use agent_gateway_a2a::version::Version;
//! use serde_json::json;
//!
//! let v03 = json!({"message": {"kind": "message", "messageId": "m1", "role": "user",
//!                               "parts": [{"kind": "text", "text": "hi"}]}});
//! let v1 = params(Operation::SendMessage, Version::V0_3, Version::V1_0, v03);
//! assert_eq!(v1, json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}));
//! let back = result(Operation::SendMessage, Version::V1_0, Version::V0_3,
//!     json!({"task": {"id": "t1", "contextId": "c1", "status": {"state": "TASK_STATE_COMPLETED"}}}));
//! assert_eq!(back, json!({"kind": "task", "id": "t1", "contextId": "c1", "status": {"state": "completed"}}));
//! // Same version: untouched.
//! assert_eq!(params(Operation::GetTask, Version::V1_0, Version::V1_0, json!({"id": "x"})), json!({"id": "x"}));
//! ```

pub(crate) mod proto03;

use serde_json::{Map, Value, json};

use crate::op::Operation;
use crate::version::Version;

/// Translates request params of `op` from version `from` to version `to`.
pub fn params(op: Operation, from: Version, to: Version, mut p: Value) -> Value {
    if from == to {
        return p;
    }
    let up = to == Version::V1_0;
    let Some(obj) = p.as_object_mut() else {
        return p;
    };
    match op {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            if let Some(m) = obj.get_mut("message") {
                message(m, up);
            }
            if let Some(Value::Object(c)) = obj.get_mut("configuration") {
                configuration(c, up);
            }
        }
        Operation::CreatePushConfig => push_config_result(&mut p, up),
        Operation::GetPushConfig | Operation::DeletePushConfig => {
            if up {
                let task = obj.remove("id");
                let config = obj.remove("pushNotificationConfigId");
                put(obj, "taskId", task);
                put(obj, "id", config);
            } else {
                let task = obj.remove("taskId");
                let config = obj.remove("id");
                put(obj, "id", task);
                put(obj, "pushNotificationConfigId", config);
            }
        }
        Operation::ListPushConfigs => {
            if up {
                rename(obj, "id", "taskId");
            } else {
                rename(obj, "taskId", "id");
            }
        }
        Operation::GetTask if up => unset_zero_history(obj),
        _ => {}
    }
    p
}

/// Translates the result of `op` from version `from` to version `to`.
pub fn result(op: Operation, from: Version, to: Version, mut r: Value) -> Value {
    if from == to {
        return r;
    }
    let up = to == Version::V1_0;
    match op {
        Operation::SendMessage => send_result(r, up),
        Operation::GetTask | Operation::CancelTask => {
            task(&mut r, up);
            r
        }
        Operation::CreatePushConfig | Operation::GetPushConfig => {
            push_config_result(&mut r, up);
            r
        }
        Operation::ListPushConfigs => {
            if up {
                let mut configs = match r {
                    Value::Array(a) => a,
                    _ => Vec::new(),
                };
                configs.iter_mut().for_each(|c| push_config_result(c, true));
                // ProtoJSON leaves out default values, as a 1.0 agent answers: no empty list.
                match configs.is_empty() {
                    true => json!({}),
                    false => json!({"configs": configs}),
                }
            } else {
                let mut configs = match r.get_mut("configs").map(Value::take) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                configs
                    .iter_mut()
                    .for_each(|c| push_config_result(c, false));
                Value::Array(configs)
            }
        }
        // Empty in both: a 1.0 agent answers a JSON-RPC delete with a null result too.
        Operation::DeletePushConfig => Value::Null,
        _ => r,
    }
}

/// Translates one stream event (a `StreamResponse` in 1.0, a `kind`-tagged object in 0.3).
pub fn stream_event(from: Version, to: Version, ev: Value) -> Value {
    if from == to {
        return ev;
    }
    if to == Version::V0_3 {
        let Value::Object(mut obj) = ev else {
            return ev;
        };
        if let Some(mut su) = obj.remove("statusUpdate") {
            let state = su
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or("");
            let fin = is_final(state);
            if let Some(s) = su.get_mut("status") {
                status(s, false);
            }
            if let Value::Object(m) = &mut su {
                m.insert("kind".into(), "status-update".into());
                m.entry("final").or_insert(Value::Bool(fin));
            }
            return su;
        }
        if let Some(mut au) = obj.remove("artifactUpdate") {
            if let Some(a) = au.get_mut("artifact") {
                artifact(a, false);
            }
            if let Value::Object(m) = &mut au {
                m.insert("kind".into(), "artifact-update".into());
            }
            return au;
        }
        send_result(Value::Object(obj), false)
    } else {
        let mut ev = ev;
        let kind = ev
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(obj) = ev.as_object_mut() else {
            return ev;
        };
        obj.remove("kind");
        match kind.as_str() {
            "status-update" => {
                obj.remove("final");
                if let Some(s) = obj.get_mut("status") {
                    status(s, true);
                }
                json!({"statusUpdate": ev})
            }
            "artifact-update" => {
                if let Some(a) = obj.get_mut("artifact") {
                    artifact(a, true);
                }
                json!({"artifactUpdate": ev})
            }
            "message" => {
                message(&mut ev, true);
                json!({"message": ev})
            }
            _ => {
                task(&mut ev, true);
                json!({"task": ev})
            }
        }
    }
}

fn send_result(r: Value, up: bool) -> Value {
    if up {
        let mut r = r;
        let is_message = r.get("kind").and_then(Value::as_str) == Some("message");
        if is_message {
            message(&mut r, true);
            json!({"message": r})
        } else {
            task(&mut r, true);
            json!({"task": r})
        }
    } else {
        let Value::Object(mut obj) = r else { return r };
        if let Some(mut m) = obj.remove("message") {
            message(&mut m, false);
            return m;
        }
        let mut t = obj.remove("task").unwrap_or(Value::Object(obj));
        task(&mut t, false);
        t
    }
}

pub(crate) fn is_final(state: &str) -> bool {
    matches!(
        state,
        "TASK_STATE_COMPLETED"
            | "TASK_STATE_FAILED"
            | "TASK_STATE_CANCELED"
            | "TASK_STATE_REJECTED"
            | "TASK_STATE_INPUT_REQUIRED"
            | "TASK_STATE_AUTH_REQUIRED"
    )
}

fn state(s: &str, up: bool) -> String {
    if up {
        match s {
            "unknown" => "TASK_STATE_UNSPECIFIED".into(),
            s if s.starts_with("TASK_STATE_") => s.into(),
            s => format!("TASK_STATE_{}", s.replace('-', "_").to_ascii_uppercase()),
        }
    } else {
        match s.strip_prefix("TASK_STATE_") {
            Some("UNSPECIFIED") => "unknown".into(),
            Some(rest) => rest.replace('_', "-").to_ascii_lowercase(),
            None => s.into(),
        }
    }
}

fn status(s: &mut Value, up: bool) {
    let Some(obj) = s.as_object_mut() else { return };
    if let Some(Value::String(st)) = obj.get_mut("state") {
        *st = state(st, up);
    }
    if let Some(m) = obj.get_mut("message") {
        message(m, up);
    }
}

fn task(t: &mut Value, up: bool) {
    let Some(obj) = t.as_object_mut() else { return };
    if up {
        obj.remove("kind");
    } else {
        obj.insert("kind".into(), "task".into());
    }
    if let Some(s) = obj.get_mut("status") {
        status(s, up);
    }
    if let Some(Value::Array(h)) = obj.get_mut("history") {
        h.iter_mut().for_each(|m| message(m, up));
    }
    if let Some(Value::Array(a)) = obj.get_mut("artifacts") {
        a.iter_mut().for_each(|a| artifact(a, up));
    }
}

fn artifact(a: &mut Value, up: bool) {
    if let Some(Value::Array(parts)) = a.get_mut("parts") {
        parts.iter_mut().for_each(|p| part(p, up));
    }
}

fn message(m: &mut Value, up: bool) {
    let Some(obj) = m.as_object_mut() else { return };
    if up {
        obj.remove("kind");
    } else {
        obj.insert("kind".into(), "message".into());
    }
    if let Some(Value::String(role)) = obj.get_mut("role") {
        *role = match (role.as_str(), up) {
            ("user", true) => "ROLE_USER".into(),
            ("agent", true) => "ROLE_AGENT".into(),
            ("ROLE_USER", false) => "user".into(),
            ("ROLE_AGENT", false) => "agent".into(),
            (other, _) => other.into(),
        };
    }
    if let Some(Value::Array(parts)) = obj.get_mut("parts") {
        parts.iter_mut().for_each(|p| part(p, up));
    }
}

fn part(p: &mut Value, up: bool) {
    let Some(obj) = p.as_object_mut() else { return };
    if up {
        let kind = obj.remove("kind");
        if kind.as_ref().and_then(Value::as_str) == Some("file")
            && let Some(Value::Object(mut file)) = obj.remove("file")
        {
            {
                if let Some(b) = file.remove("bytes") {
                    obj.insert("raw".into(), b);
                }
                if let Some(u) = file.remove("uri") {
                    obj.insert("url".into(), u);
                }
                put(obj, "filename", file.remove("name"));
                put(obj, "mediaType", file.remove("mimeType"));
            }
        }
    } else if obj.contains_key("text") {
        obj.insert("kind".into(), "text".into());
    } else if obj.contains_key("data") {
        obj.insert("kind".into(), "data".into());
    } else {
        let mut file = Map::new();
        put(&mut file, "bytes", obj.remove("raw"));
        put(&mut file, "uri", obj.remove("url"));
        put(&mut file, "name", obj.remove("filename"));
        put(&mut file, "mimeType", obj.remove("mediaType"));
        obj.insert("kind".into(), "file".into());
        obj.insert("file".into(), Value::Object(file));
    }
}

/// A 0.3 `historyLength` of 0 is proto3's unset, which a2a-sdk's 0.3 side reads as "the
/// server's default" (the whole history); in 1.0, 0 means none. Dropped on the way up.
fn unset_zero_history(obj: &mut Map<String, Value>) {
    if obj.get("historyLength").and_then(Value::as_i64) == Some(0) {
        obj.remove("historyLength");
    }
}

fn configuration(c: &mut Map<String, Value>, up: bool) {
    if up {
        unset_zero_history(c);
        if let Some(b) = c.remove("blocking") {
            c.insert(
                "returnImmediately".into(),
                Value::Bool(b == Value::Bool(false)),
            );
        }
        if let Some(mut pc) = c.remove("pushNotificationConfig") {
            if let Value::Object(m) = &mut pc {
                push_config_auth(m, true);
            }
            c.insert("taskPushNotificationConfig".into(), pc);
        }
    } else {
        if let Some(r) = c.remove("returnImmediately") {
            c.insert("blocking".into(), Value::Bool(r != Value::Bool(true)));
        }
        if let Some(mut pc) = c.remove("taskPushNotificationConfig") {
            if let Value::Object(m) = &mut pc {
                m.remove("taskId");
                m.remove("tenant");
                push_config_auth(m, false);
            }
            c.insert("pushNotificationConfig".into(), pc);
        }
    }
}

fn push_config_auth(m: &mut Map<String, Value>, up: bool) {
    let Some(Value::Object(auth)) = m.get_mut("authentication") else {
        return;
    };
    if up {
        if let Some(Value::Array(schemes)) = auth.remove("schemes") {
            put(auth, "scheme", schemes.into_iter().next());
        }
    } else if let Some(s) = auth.remove("scheme") {
        auth.insert("schemes".into(), Value::Array(vec![s]));
    }
}

fn push_config_result(r: &mut Value, up: bool) {
    let Some(obj) = r.as_object_mut() else { return };
    if up {
        let task_id = obj.remove("taskId");
        let mut flat = match obj.remove("pushNotificationConfig") {
            Some(Value::Object(c)) => c,
            _ => Map::new(),
        };
        push_config_auth(&mut flat, true);
        put(&mut flat, "taskId", task_id);
        *obj = flat;
    } else {
        let task_id = obj.remove("taskId");
        obj.remove("tenant");
        let mut nested = std::mem::take(obj);
        push_config_auth(&mut nested, false);
        put(obj, "taskId", task_id);
        obj.insert("pushNotificationConfig".into(), Value::Object(nested));
    }
}

fn put(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        obj.insert(key.into(), v);
    }
}

fn rename(obj: &mut Map<String, Value>, from: &str, to: &str) {
    let v = obj.remove(from);
    put(obj, to, v);
}

#[cfg(test)]
mod tests;
