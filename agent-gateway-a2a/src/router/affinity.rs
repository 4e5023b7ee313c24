//! Sealing the instance and the owner into the task and context ids of responses, opening them
//! in requests, and keeping a caller's task listing to its own tasks.

use serde_json::Value;

use crate::error::A2aError;
use crate::op::Operation;
use crate::seal::{Owner, SealError, Sealer};
use crate::version::Version;

/// Seals every task and context id in `value` (a result or a stream event, either version).
///
/// A push config's id is sealed too when it is its task's id: an agent gives a config created
/// without an id its task's id (a2a-sdk does), which is an upstream task id like any other. It
/// then comes back equal to the sealed task id, as it equals the task id from the agent alone;
/// [`open_ids`] opens it again. A config id the client chose is left as it is.
pub(crate) fn seal_ids(
    value: &mut Value,
    seal: &dyn Fn(&str) -> Result<String, SealError>,
) -> Result<(), SealError> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|v| seal_ids(v, seal)),
        Value::Object(obj) => {
            let is_task =
                obj.get("status").is_some_and(Value::is_object) && !obj.contains_key("taskId");
            if let Some(Value::String(task)) = obj.get("taskId") {
                let task = task.clone();
                // 1.0's flat config, and 0.3's nested one.
                let config = match obj.get_mut("pushNotificationConfig") {
                    Some(Value::Object(nested)) => nested.get_mut("id"),
                    _ => obj.get_mut("id"),
                };
                if let Some(Value::String(id)) = config
                    && *id == task
                {
                    *id = seal(id)?;
                }
            }
            for (key, v) in obj.iter_mut() {
                match (key.as_str(), &mut *v) {
                    ("taskId" | "contextId", Value::String(s)) => *s = seal(s)?,
                    ("id", Value::String(s)) if is_task => *s = seal(s)?,
                    ("referenceTaskIds", Value::Array(ids)) => {
                        for id in ids.iter_mut() {
                            if let Value::String(s) = id {
                                *s = seal(s)?;
                            }
                        }
                    }
                    _ => seal_ids(v, seal)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Opens the sealed ids in request params, in place, and returns the instance they name.
///
/// A task id that does not open for `owner` (another caller's, or a forged one) is an unknown
/// task. A context id that is not sealed at all is a client-chosen one for a new conversation
/// and passes as is; one that looks sealed but does not open is refused like a task. Ids
/// naming different instances are refused too.
pub(crate) fn open_ids(
    sealer: &Sealer,
    agent: &str,
    owner: &Owner,
    op: Operation,
    version: Version,
    params: &mut Value,
) -> Result<Option<String>, A2aError> {
    let mut instance: Option<String> = None;
    let mut open = |s: &mut String, must: bool| -> Result<(), A2aError> {
        if !must && !Sealer::looks_sealed(s) {
            return Ok(());
        }
        let (inst, raw) = sealer.open(agent, owner, s).ok_or(A2aError::TaskNotFound)?;
        match &instance {
            Some(seen) if *seen != inst => return Err(A2aError::TaskNotFound),
            _ => instance = Some(inst),
        }
        *s = raw;
        Ok(())
    };
    if op.id_is_task(version) {
        match params.get_mut("id") {
            Some(Value::String(s)) => open(s, true)?,
            _ => {
                return Err(A2aError::InvalidParams(
                    "`id` (the task id) is required".into(),
                ));
            }
        }
    }
    if let Some(Value::String(s)) = config_id(op, version, params) {
        open(s, false)?;
    }
    walk(params, &mut open)?;
    Ok(instance)
}

/// The push config id in `op`'s params, in the client's `version`: a sealed one is the task id
/// [`seal_ids`] sealed in its stead.
fn config_id(op: Operation, version: Version, params: &mut Value) -> Option<&mut Value> {
    match (op, version) {
        (Operation::CreatePushConfig, Version::V0_3) => {
            params.pointer_mut("/pushNotificationConfig/id")
        }
        (Operation::GetPushConfig | Operation::DeletePushConfig, Version::V0_3) => {
            params.get_mut("pushNotificationConfigId")
        }
        (
            Operation::CreatePushConfig | Operation::GetPushConfig | Operation::DeletePushConfig,
            Version::V1_0,
        ) => params.get_mut("id"),
        _ => None,
    }
}

fn walk(
    value: &mut Value,
    open: &mut dyn FnMut(&mut String, bool) -> Result<(), A2aError>,
) -> Result<(), A2aError> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|v| walk(v, open)),
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                match (key.as_str(), &mut *v) {
                    ("taskId", Value::String(s)) if !s.is_empty() => open(s, true)?,
                    ("contextId", Value::String(s)) => open(s, false)?,
                    ("referenceTaskIds", Value::Array(ids)) => {
                        for id in ids.iter_mut() {
                            if let Value::String(s) = id {
                                open(s, true)?;
                            }
                        }
                    }
                    _ => walk(v, open)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Gives a new message's conversation an upstream context id that names `owner`: the client's
/// own unsealed context id wrapped with the owner's tag, or a fresh one when the message names
/// neither a task nor a context. A `ListTasks` by an unsealed context id is wrapped the same
/// way, so a client can list a conversation by the id it chose. Runs before [`open_ids`], so a sealed context id (an existing
/// conversation, already tagged) is left to it.
pub(crate) fn bind_context(
    sealer: &Sealer,
    agent: &str,
    owner: &Owner,
    op: Operation,
    params: &mut Value,
) -> Result<(), A2aError> {
    if op == Operation::ListTasks {
        // A listing by the client's own (unsealed) context id names the wrapped one upstream.
        if let Some(Value::String(c)) = params.get_mut("contextId")
            && !c.is_empty()
            && !Sealer::looks_sealed(c)
        {
            *c = sealer
                .upstream_context(agent, owner, Some(c))
                .map_err(|_| A2aError::Unavailable)?;
        }
        return Ok(());
    }
    if !matches!(op, Operation::SendMessage | Operation::SendStreamingMessage) {
        return Ok(());
    }
    let Some(message) = params.get_mut("message").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let has_task = message
        .get("taskId")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    let upstream = match message.get("contextId") {
        Some(Value::String(c)) if Sealer::looks_sealed(c) => return Ok(()),
        Some(Value::String(c)) if !c.is_empty() => sealer.upstream_context(agent, owner, Some(c)),
        // Continuing a task: the agent infers the context from it.
        _ if has_task => return Ok(()),
        _ => sealer.upstream_context(agent, owner, None),
    };
    let upstream = upstream.map_err(|_| A2aError::Unavailable)?;
    message.insert("contextId".into(), Value::String(upstream));
    Ok(())
}

/// Keeps, in a `ListTasks` result (before sealing), only the tasks whose context names
/// `owner`. An agent lists every task it holds; only the gateway knows whose each is.
pub(crate) fn own_tasks(sealer: &Sealer, agent: &str, owner: &Owner, result: &mut Value) {
    let Some(Value::Array(tasks)) = result.get_mut("tasks") else {
        return;
    };
    tasks.retain(|t| {
        t.get("contextId")
            .and_then(Value::as_str)
            .is_some_and(|c| sealer.context_owned_by(agent, owner, c))
    });
    let kept = tasks.len();
    if let Some(obj) = result.as_object_mut() {
        // The agent's total counts every caller's tasks; it is not the caller's to know.
        obj.insert("totalSize".into(), Value::from(kept));
    }
}
