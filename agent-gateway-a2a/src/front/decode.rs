//! Decoding an HTTP request into an [`A2aRequest`]: path, version, Content-Type, body limit,
//! JSON-RPC envelope or HTTP+JSON route, and the checks that need no agent.

use agent_gateway_core::jsonrpc::{DecodeError, Id, Message, Notification};
use bytes::Bytes;
use http::request::Parts;
use http::{Method, header::CONTENT_TYPE};
use serde_json::{Map, Value};

use super::A2aFrontConfig;
use crate::error::A2aError;
use crate::op::Operation;
use crate::request::Binding;
use crate::version::Version;
use crate::webhook;

/// Where a request is going, known before its body is read.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// `GET /`: discovery.
    Discovery,
    /// An agent's well-known card.
    Card(String),
    /// JSON-RPC to an agent.
    JsonRpc(String),
    /// An HTTP+JSON route of an agent.
    Rest {
        agent: String,
        tenant: Option<String>,
        op: Operation,
        segments: Vec<String>,
    },
}

/// The binding an error for `route` is rendered in, before the request id is known.
pub(crate) fn binding_of(route: Option<&Route>) -> Binding {
    match route {
        Some(Route::JsonRpc(_)) => Binding::JsonRpc { id: None },
        Some(Route::Rest { tenant, .. }) => Binding::Rest {
            tenant: tenant.clone(),
        },
        _ => Binding::Http,
    }
}

const ROOTS: [&str; 5] = [
    "message:send",
    "message:stream",
    "tasks",
    "extendedAgentCard",
    "card",
];

/// Reads the route from the method and path; `/.well-known/agent-card.json` (and
/// `agent.json`) is the card of `default_agent`, if there is one.
pub(crate) fn route(
    method: &Method,
    path: &str,
    default_agent: Option<&str>,
) -> Result<Route, A2aError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let (Some(agent), [".well-known", "agent-card.json" | "agent.json"]) =
        (default_agent, segs.as_slice())
    {
        return Ok(Route::Card(agent.to_owned()));
    }
    let Some((agent, rest)) = segs.split_first() else {
        return if method == Method::GET {
            Ok(Route::Discovery)
        } else {
            Err(A2aError::MethodNotFound(path.into()))
        };
    };
    let agent = (*agent).to_owned();
    if let [".well-known", "agent-card.json" | "agent.json"] = rest {
        return Ok(Route::Card(agent));
    }
    if rest.is_empty() {
        return if method == Method::POST {
            Ok(Route::JsonRpc(agent))
        } else {
            Err(A2aError::MethodNotFound(path.into()))
        };
    }
    let mut rest = rest;
    let mut tenant = None;
    if let [first, tail @ ..] = rest
        && *first != "v1"
        && !ROOTS.contains(first)
        && !tail.is_empty()
    {
        tenant = Some((*first).to_owned());
        rest = tail;
    }
    if let ["v1", tail @ ..] = rest {
        rest = tail;
    }
    let m = method.clone();
    let op = match rest {
        ["message:send"] if m == Method::POST => Operation::SendMessage,
        ["message:stream"] if m == Method::POST => Operation::SendStreamingMessage,
        ["tasks"] if m == Method::GET => Operation::ListTasks,
        ["extendedAgentCard" | "card"] if m == Method::GET => Operation::GetExtendedCard,
        ["tasks", id] => match id.rsplit_once(':') {
            None if m == Method::GET => Operation::GetTask,
            Some((_, "cancel")) if m == Method::POST => Operation::CancelTask,
            Some((_, "subscribe")) if m == Method::POST || m == Method::GET => {
                Operation::SubscribeToTask
            }
            _ => return Err(A2aError::MethodNotFound(path.into())),
        },
        ["tasks", _, "pushNotificationConfigs"] if m == Method::POST => Operation::CreatePushConfig,
        ["tasks", _, "pushNotificationConfigs"] if m == Method::GET => Operation::ListPushConfigs,
        ["tasks", _, "pushNotificationConfigs", _] if m == Method::GET => Operation::GetPushConfig,
        ["tasks", _, "pushNotificationConfigs", _] if m == Method::DELETE => {
            Operation::DeletePushConfig
        }
        _ => return Err(A2aError::MethodNotFound(path.into())),
    };
    Ok(Route::Rest {
        agent,
        tenant,
        op,
        segments: rest.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// Whether the Content-Type is one the A2A bindings accept (`application/json`,
/// `application/a2a+json`).
pub(crate) fn json_content_type(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/a2a+json")
}

/// A decoded JSON-RPC request (id, operation, params), or the id (if read) and the error.
type RpcDecoded = Result<(Option<Id>, Operation, Value), (Option<Id>, A2aError)>;

/// Decodes a JSON-RPC body: the request id (`None` for a 1.0 request without one, which
/// a2a-sdk 1.x serves like any other and answers with a null id), the operation and the
/// params object.
pub(crate) fn jsonrpc(version: Version, body: &Bytes) -> RpcDecoded {
    let msg = match Message::from_slice(body) {
        // A null id is read as no id, as the agents read it.
        Err(DecodeError::Invalid { id: None, .. }) if has_null_id(body) => {
            let mut obj: Map<String, Value> =
                serde_json::from_slice(body).map_err(|_| (None, A2aError::Parse))?;
            obj.remove("id");
            let bytes = serde_json::to_vec(&obj).map_err(|_| (None, A2aError::Parse))?;
            Message::from_slice(&bytes)
        }
        other => other,
    };
    let msg = msg.map_err(|e| match e {
        DecodeError::Parse => (None, A2aError::Parse),
        DecodeError::Invalid { id, reason } => (id, A2aError::InvalidRequest(reason.into_owned())),
        other => (None, A2aError::InvalidRequest(other.to_string())),
    })?;
    let (id, method, params) = match msg {
        Message::Request(req) => (Some(req.id), req.method, req.params),
        Message::Notification(n) if version == Version::V1_0 => (None, n.method, n.params),
        Message::Notification(n) => return Err((None, without_id_03(&n))),
        Message::Response(_) => {
            return Err((
                None,
                A2aError::InvalidRequest("expected a request with an id".into()),
            ));
        }
    };
    let op = match Operation::from_method(version, &method) {
        Some(op) => op,
        None if Operation::known_in_other_version(version, &method) => {
            return Err((id, A2aError::VersionNotSupported(version.as_str().into())));
        }
        None => {
            return Err((
                id,
                A2aError::MethodNotFound(method.chars().take(64).collect()),
            ));
        }
    };
    let params = match &params {
        None => Value::Object(Map::new()),
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err((
                    id,
                    A2aError::InvalidParams("params must be an object".into()),
                ));
            }
        },
    };
    Ok((id, op, params))
}

/// Whether `body` is an object whose `id` is null.
fn has_null_id(body: &Bytes) -> bool {
    serde_json::from_slice::<Map<String, Value>>(body)
        .is_ok_and(|obj| obj.get("id") == Some(&Value::Null))
}

/// The error for a 0.3 request without an id, in the order a2a-sdk's 0.3 compatibility finds
/// it: an unknown method (-32601, or -32009 for a 1.0 method), else an invalid request
/// (-32600) whatever its params.
fn without_id_03(n: &Notification) -> A2aError {
    if Operation::from_method(Version::V0_3, &n.method).is_some() {
        A2aError::InvalidRequest("a request needs an id".into())
    } else if Operation::known_in_other_version(Version::V0_3, &n.method) {
        A2aError::VersionNotSupported(Version::V0_3.as_str().into())
    } else {
        A2aError::MethodNotFound(n.method.chars().take(64).collect())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds the params of an HTTP+JSON route from the path, the query and the body. A `/{tenant}`
/// path segment is not carried over: the tenant sent upstream is the caller's own.
pub(crate) fn rest_params(
    op: Operation,
    version: Version,
    segments: &[String],
    query: Option<&str>,
    body: &Bytes,
) -> Result<Value, A2aError> {
    let mut params = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(A2aError::InvalidParams(
                    "the body must be a JSON object".into(),
                ));
            }
            Err(_) => return Err(A2aError::Parse),
        }
    };
    for (k, v) in query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
    {
        let k = percent_decode(k);
        if k.eq_ignore_ascii_case("a2a-version") {
            continue;
        }
        let v = percent_decode(v);
        let value = match (k.as_str(), v.parse::<i64>(), v.as_str()) {
            ("pageSize" | "historyLength", Ok(n), _) => Value::from(n),
            (_, _, "true") => Value::Bool(true),
            (_, _, "false") => Value::Bool(false),
            _ => Value::String(v),
        };
        params.insert(k, value);
    }
    let task = segments.get(1).map(|s| {
        s.rsplit_once(':')
            .map_or(s.as_str(), |(id, _)| id)
            .to_owned()
    });
    let config = segments.get(3).cloned();
    let v1 = version == Version::V1_0;
    let mut set = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            params.insert(k.into(), Value::String(v));
        }
    };
    match op {
        Operation::GetTask | Operation::CancelTask | Operation::SubscribeToTask => set("id", task),
        Operation::CreatePushConfig => set("taskId", task),
        Operation::ListPushConfigs => set(if v1 { "taskId" } else { "id" }, task),
        Operation::GetPushConfig | Operation::DeletePushConfig => {
            if v1 {
                set("taskId", task);
                set("id", config);
            } else {
                set("id", task);
                set("pushNotificationConfigId", config);
            }
        }
        _ => {}
    }
    Ok(Value::Object(params))
}

/// The checks that need no agent: a message id on sends ([`check_message`]), and webhooks
/// inside the allow-list (one push URL at most, under whichever name).
pub(crate) fn validate(
    config: &A2aFrontConfig,
    op: Operation,
    params: &Value,
) -> Result<(), A2aError> {
    check_message(op, params)?;
    webhook::check(&config.webhooks, op, params)
}

/// A send's message must have a `messageId` (InvalidParams otherwise).
pub(crate) fn check_message(op: Operation, params: &Value) -> Result<(), A2aError> {
    if matches!(op, Operation::SendMessage | Operation::SendStreamingMessage) {
        let message = params.get("message").filter(|m| m.is_object());
        let id = message
            .and_then(|m| m.get("messageId"))
            .and_then(Value::as_str);
        if id.is_none_or(str::is_empty) {
            return Err(A2aError::InvalidParams(
                "message.messageId is required".into(),
            ));
        }
    }
    Ok(())
}
