//! What the connectors that multiplex calls over one channel share (stdio, the legacy SSE
//! stream): a call in flight by our numeric id, its answer matched by id, and its progress,
//! which carries our id as the token, mapped back to the call's notifier.

use std::collections::HashMap;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Id, Payload, Response, encode};
use serde_json::{Map, Value, json};
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

/// What a call's answer is.
pub(crate) type Outcome = Result<Map<String, Value>, BoxError>;

/// One request/answer exchange over a multiplexed channel, ready to go: the request as bytes,
/// what to put in flight under its id, and where its answer arrives. The stdio and the legacy
/// SSE connectors each insert [`pending`](Self::pending) in their table, send
/// [`bytes`](Self::bytes) their own way and await [`answer`](Self::answer).
pub(crate) struct Exchange {
    pub(crate) bytes: Vec<u8>,
    pub(crate) pending: Pending,
    pub(crate) answer: oneshot::Receiver<Outcome>,
}

impl Exchange {
    /// Prepares request `id` of `method`. Progress is asked for under our own token, the
    /// request id, so that concurrent clients' tokens never collide; the notifier maps it back
    /// to the client's. The envelope is written around the params in one pass.
    pub(crate) fn new(
        id: i64,
        method: &str,
        mut params: Map<String, Value>,
        notifier: Option<Notifier>,
    ) -> Result<Exchange, BoxError> {
        let wants_progress = notifier
            .as_ref()
            .is_some_and(|n| n.progress_token().is_some());
        if let Some(Value::Object(meta)) = params.get_mut("_meta") {
            meta.remove("progressToken");
        }
        if wants_progress {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Value::Object(meta) = meta {
                meta.insert("progressToken".into(), json!(id));
            }
        }
        let bytes = encode::request(&Id::from(id), method, Some(&params))?;
        let (answer, rx) = oneshot::channel();
        Ok(Exchange {
            bytes,
            pending: Pending { answer, notifier },
            answer: rx,
        })
    }
}

/// The `notifications/cancelled` telling a server that request `id` is no longer awaited.
pub(crate) fn cancelled(id: i64) -> Option<Vec<u8>> {
    let reason = json!({"requestId": id, "reason": "the caller went away"});
    encode::notification("notifications/cancelled", Some(&reason)).ok()
}

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
