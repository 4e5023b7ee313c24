//! The 0.3 HTTP+JSON dialect: ProtoJSON of 0.3's `a2a.v1` proto (as the a2a-sdk's 0.3
//! compatibility REST transport sends it), which differs from 0.3 JSON-RPC. It is close to
//! 1.0: enum names are the same, but a message carries `content` instead of `parts`, a send
//! request `request` instead of `message`, a data part nests its value in `data.data`, a file
//! part is `file{fileWithUri|fileWithBytes, mimeType, name}`, `TASK_STATE_CANCELED` is spelt
//! `TASK_STATE_CANCELLED`, and requests may use snake_case.

use serde_json::{Map, Value, json};

use crate::op::Operation;

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Renames every snake_case key to camelCase, except inside `metadata` and `data` values.
fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if k == "metadata" || k == "data" {
                        v
                    } else {
                        camel_keys(v)
                    };
                    (camel(&k), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

fn part_to_v1(p: &mut Value) {
    let Some(obj) = p.as_object_mut() else { return };
    if let Some(Value::Object(mut file)) = obj.remove("file") {
        if let Some(u) = file.remove("fileWithUri") {
            obj.insert("url".into(), u);
        }
        if let Some(b) = file.remove("fileWithBytes") {
            obj.insert("raw".into(), b);
        }
        if let Some(m) = file.remove("mimeType") {
            obj.insert("mediaType".into(), m);
        }
        if let Some(n) = file.remove("name") {
            obj.insert("filename".into(), n);
        }
    }
    if let Some(Value::Object(mut data)) = obj.remove("data") {
        obj.insert("data".into(), data.remove("data").unwrap_or(Value::Null));
    }
}

fn message_to_v1(m: &mut Value) {
    let Some(obj) = m.as_object_mut() else { return };
    if let Some(mut parts) = obj.remove("content") {
        if let Value::Array(ps) = &mut parts {
            ps.iter_mut().for_each(part_to_v1);
        }
        obj.insert("parts".into(), parts);
    }
}

/// A 0.3 HTTP+JSON send body, as 1.0 `SendMessageRequest` params.
pub(crate) fn send_params_to_v1(body: Value) -> Value {
    let mut v = camel_keys(body);
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    if let Some(mut m) = obj.remove("request").or_else(|| obj.remove("message")) {
        message_to_v1(&mut m);
        obj.insert("message".into(), m);
    }
    if let Some(Value::Object(c)) = obj.get_mut("configuration") {
        if let Some(p) = c.remove("pushNotification") {
            c.insert("taskPushNotificationConfig".into(), p);
        }
        if let Some(b) = c.remove("blocking") {
            c.insert(
                "returnImmediately".into(),
                Value::Bool(b == Value::Bool(false)),
            );
        }
    }
    v
}

fn part_from_v1(p: &mut Value) {
    let Some(obj) = p.as_object_mut() else { return };
    if obj.contains_key("url") || obj.contains_key("raw") {
        let mut file = Map::new();
        if let Some(u) = obj.remove("url") {
            file.insert("fileWithUri".into(), u);
        }
        if let Some(b) = obj.remove("raw") {
            file.insert("fileWithBytes".into(), b);
        }
        if let Some(m) = obj.remove("mediaType") {
            file.insert("mimeType".into(), m);
        }
        if let Some(n) = obj.remove("filename") {
            file.insert("name".into(), n);
        }
        obj.insert("file".into(), Value::Object(file));
    } else if let Some(d) = obj.remove("data") {
        obj.insert("data".into(), json!({"data": d}));
    }
}

/// A 1.0 result or stream event, in the 0.3 HTTP+JSON dialect.
pub(crate) fn from_v1(mut v: Value) -> Value {
    walk_from_v1(&mut v);
    v
}

fn walk_from_v1(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(walk_from_v1),
        Value::Object(obj) => {
            let is_message = obj.contains_key("messageId");
            if let Some(Value::Array(parts)) = obj.get_mut("parts") {
                parts.iter_mut().for_each(part_from_v1);
            }
            if is_message && let Some(parts) = obj.remove("parts") {
                obj.insert("content".into(), parts);
            }
            if let Some(Value::Object(su)) = obj.get_mut("statusUpdate") {
                let state = su
                    .get("status")
                    .and_then(|s| s.get("state"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let fin = super::is_final(state);
                su.entry("final").or_insert(Value::Bool(fin));
            }
            // 0.3's proto spells it with two Ls.
            if let Some(Value::String(state)) = obj.get_mut("state")
                && state == "TASK_STATE_CANCELED"
            {
                *state = "TASK_STATE_CANCELLED".into();
            }
            for (k, child) in obj.iter_mut() {
                if k != "metadata" && k != "data" {
                    walk_from_v1(child);
                }
            }
        }
        _ => {}
    }
}

/// A 0.3 HTTP+JSON `CreateTaskPushNotificationConfigRequest` body (`{parent, configId,
/// config: {name, pushNotificationConfig}}`), as 0.3 JSON-RPC params; `taskId` comes from the path.
pub(crate) fn push_create_to_v03(body: Value) -> Value {
    let mut v = camel_keys(body);
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    let nested = obj
        .get_mut("config")
        .and_then(|c| c.get_mut("pushNotificationConfig"))
        .map(Value::take);
    if let Some(config) = nested {
        obj.insert("pushNotificationConfig".into(), config);
    }
    obj.remove("config");
    obj.remove("parent");
    obj.remove("configId");
    v
}

/// A 1.0 result of `op`, in the 0.3 HTTP+JSON dialect: push configs become
/// `TaskPushNotificationConfig{name, pushNotificationConfig}`, the rest as [`from_v1`].
pub(crate) fn result_from_v1(op: Operation, v: Value) -> Value {
    match op {
        Operation::CreatePushConfig | Operation::GetPushConfig => push_config_from_v1(v),
        Operation::ListPushConfigs => {
            // ProtoJSON leaves out default values: no `configs` when there are none, no
            // `nextPageToken` on the last page (as a2a-sdk's 0.3 side answers).
            let mut out = serde_json::Map::new();
            if let Some(Value::Array(c)) = v.get("configs")
                && !c.is_empty()
            {
                let configs = c.iter().cloned().map(push_config_from_v1).collect();
                out.insert("configs".into(), Value::Array(configs));
            }
            if let Some(token) = v.get("nextPageToken").filter(|t| t.as_str() != Some("")) {
                out.insert("nextPageToken".into(), token.clone());
            }
            Value::Object(out)
        }
        _ => from_v1(v),
    }
}

fn push_config_from_v1(v: Value) -> Value {
    let Value::Object(mut flat) = v else { return v };
    let task = flat
        .remove("taskId")
        .and_then(|t| t.as_str().map(str::to_owned))
        .unwrap_or_default();
    flat.remove("tenant");
    let id = flat
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(Value::Object(auth)) = flat.get_mut("authentication")
        && let Some(scheme) = auth.remove("scheme")
    {
        auth.insert("schemes".into(), Value::Array(vec![scheme]));
    }
    json!({"name": format!("tasks/{task}/pushNotificationConfigs/{id}"), "pushNotificationConfig": flat})
}
