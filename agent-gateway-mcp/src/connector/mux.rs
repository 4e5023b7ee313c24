//! What the connectors that multiplex calls over one channel share (stdio, the legacy SSE
//! stream): a call in flight by our numeric id, its answer matched by id, and its progress,
//! which carries our id as the token, mapped back to the call's notifier.

use std::collections::HashMap;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Id, Payload, Response};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::McpError;
use crate::notify::{Notifier, PROGRESS};

/// A call in flight: where its answer goes, and where its progress goes.
pub(crate) struct Pending {
    pub(crate) answer: oneshot::Sender<Result<Map<String, Value>, BoxError>>,
    pub(crate) notifier: Option<Notifier>,
}

/// The calls in flight on one channel, by our id.
pub(crate) type Calls = HashMap<i64, Pending>;

fn number(id: &Id) -> Option<i64> {
    id.to_value().as_i64()
}

/// Hands a response to the call it answers (unknown ids are ignored).
pub(crate) fn settle(calls: &mut Calls, res: Response) {
    let Some(pending) = res
        .id
        .as_ref()
        .and_then(number)
        .and_then(|id| calls.remove(&id))
    else {
        return;
    };
    let outcome = match res.payload {
        Payload::Result(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Ok(Map::new()),
        },
        Payload::Error(e) => Err(Box::new(McpError::Upstream(e)) as BoxError),
    };
    let _ = pending.answer.send(outcome);
}

/// Relays a progress notification to the call whose id is its token; the call's notifier
/// puts the client's own token in. Never waits: a slow client loses progress, not the channel.
pub(crate) fn progress(calls: &Calls, mut params: Map<String, Value>) {
    let token = params.remove("progressToken").and_then(|t| t.as_i64());
    if let Some(notifier) = token
        .and_then(|t| calls.get(&t))
        .and_then(|p| p.notifier.as_ref())
    {
        notifier.try_notify(PROGRESS, params);
    }
}
