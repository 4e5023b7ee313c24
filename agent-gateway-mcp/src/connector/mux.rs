//! What the connectors that multiplex calls over one channel share (stdio, the legacy SSE
//! stream): a call in flight by our numeric id, its answer matched by id, its progress, which
//! carries our id as the token, mapped back to the call's notifier, and the call a server's own
//! request belongs to, when that can be proven (see [`owning_call`]).

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
    /// The capabilities the call's client declared, when known: a server request needing one
    /// it did not declare is not shown to it.
    pub(crate) declared: Option<Value>,
}

/// The client capabilities a connector's shared session (stdio, legacy SSE) is opened with:
/// none. It serves requests of no client ([`ClientHop`](crate::request::ClientHop)), so no one
/// could answer a server's request on it; declaring none, the server falls back as it would
/// with a client lacking them, rather than asking and getting an error. Clients that can be
/// asked get sessions of their own, opened with what they declared (see `clients`).
pub(crate) fn shared_session_capabilities() -> Value {
    json!({})
}

/// The client capability a server→client request needs.
fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
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
    /// to the client's. The envelope is written around the params in one pass. `declared` is
    /// what the call's client declared, when known.
    pub(crate) fn new(
        id: i64,
        method: &str,
        mut params: Map<String, Value>,
        notifier: Option<Notifier>,
        declared: Option<Value>,
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
            pending: Pending {
                answer,
                notifier,
                declared,
            },
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

/// The `_meta` keys under which a server's request may name the request of ours it relates to.
pub(crate) const RELATED_REQUEST_KEYS: [&str; 2] = [
    "relatedRequestId",
    "io.modelcontextprotocol/related-request-id",
];

/// The notifier of the call a server's request (with `params`) belongs to, when that can be
/// proven, and only if its client can be asked (finding 20):
///
/// - the request names one of our calls in `_meta` ([`RELATED_REQUEST_KEYS`]): that call;
/// - else exactly one call is in flight (and so started before the request was read): that
///   one, askable or not (a second call, askable or not, makes the owner unprovable).
///
/// `None` otherwise, or when the request (`method`) needs a capability that call's client did
/// not declare: the request is refused with an error to the server, never shown to a client
/// that may not own it or cannot answer it.
pub(crate) fn owning_call(
    calls: &Calls,
    method: &str,
    params: &Map<String, Value>,
) -> Option<Notifier> {
    let call = related_call(calls, params)?;
    let declared = match (capability_for(method), &call.declared) {
        (Some(needed), Some(caps)) => caps.get(needed).is_some(),
        _ => true,
    };
    call.notifier
        .as_ref()
        .filter(|n| declared && n.can_request())
        .cloned()
}

/// The call a server's message (with `params`) can be proven to be about: the one its `_meta`
/// names ([`RELATED_REQUEST_KEYS`]; a name that is no call of ours proves nothing), else the
/// only call in flight, listens aside. `None` when neither holds.
pub(crate) fn related_call<'a>(
    calls: &'a Calls,
    params: &Map<String, Value>,
) -> Option<&'a Pending> {
    let meta = params.get("_meta").and_then(Value::as_object);
    let related = meta.and_then(|m| RELATED_REQUEST_KEYS.iter().find_map(|k| m.get(*k)));
    match related {
        Some(id) => calls.get(&id.as_i64()?),
        None => {
            // A `subscriptions/listen` in flight carries change notifications only: it owns
            // no server request or log message, so it does not make the owner unprovable.
            let mut all = calls
                .values()
                .filter(|c| c.notifier.as_ref().is_none_or(|n| n.filter().is_none()));
            match (all.next(), all.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        askable: bool,
    ) -> (
        Pending,
        tokio::sync::mpsc::Receiver<crate::notify::Outgoing>,
    ) {
        let (n, rx) = Notifier::channel(None);
        let n = if askable { n.with_requests() } else { n };
        let (answer, _) = oneshot::channel();
        (
            Pending {
                answer,
                notifier: Some(n),
                declared: None,
            },
            rx,
        )
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_server_request_goes_only_to_a_call_proven_to_own_it() {
        let mut calls = Calls::new();
        let (a, _ra) = call(true);
        calls.insert(1, a);
        // One call in flight: it owns the request.
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_some());
        // Caller B's call (not askable) is in flight too: A is not proven the owner.
        let (b, _rb) = call(false);
        calls.insert(2, b);
        assert!(
            owning_call(&calls, "roots/list", &Map::new()).is_none(),
            "finding 20"
        );
        // A link names the owner: B's call, which cannot be asked, or A's.
        let to_b = params(json!({"_meta": {"relatedRequestId": 2}}));
        assert!(owning_call(&calls, "roots/list", &to_b).is_none());
        let to_a = params(json!({"_meta": {"io.modelcontextprotocol/related-request-id": 1}}));
        assert!(owning_call(&calls, "roots/list", &to_a).is_some());
        // A link to no call of ours, or not a number: refused.
        for bad in [json!(9), json!("1"), json!(null)] {
            let p = params(json!({"_meta": {"relatedRequestId": bad}}));
            assert!(owning_call(&calls, "roots/list", &p).is_none());
        }
        // Only B's call in flight, not askable: refused.
        calls.remove(&1);
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_none());
        calls.clear();
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_none());
    }

    #[test]
    fn a_listen_in_flight_does_not_hide_the_owner_of_a_server_request() {
        let mut calls = Calls::new();
        let (a, _ra) = call(true);
        calls.insert(1, a);
        let (listen, _rl) = Notifier::listen(crate::listen::ListenFilter::default());
        let (answer, _) = oneshot::channel();
        let pending = Pending {
            answer,
            notifier: Some(listen),
            declared: None,
        };
        calls.insert(2, pending);
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_some());
        // A second call that is no listen still makes the owner unprovable.
        let (b, _rb) = call(true);
        calls.insert(3, b);
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_none());
    }

    #[test]
    fn a_server_request_goes_only_to_a_client_that_declared_its_capability() {
        let mut calls = Calls::new();
        let (mut a, _ra) = call(true);
        a.declared = Some(json!({"sampling": {}}));
        calls.insert(1, a);
        assert!(owning_call(&calls, "sampling/createMessage", &Map::new()).is_some());
        // Not declared: refused, as the client itself would.
        assert!(owning_call(&calls, "elicitation/create", &Map::new()).is_none());
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_none());
        // A request that needs no capability, or a client whose capabilities are unknown.
        assert!(owning_call(&calls, "ping", &Map::new()).is_some());
        calls.get_mut(&1).unwrap().declared = None;
        assert!(owning_call(&calls, "roots/list", &Map::new()).is_some());
    }
}
