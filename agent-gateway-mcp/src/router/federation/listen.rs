//! Notification streams through a federation: one listen per upstream, merged.
//!
//! A `subscriptions/listen` is acknowledged at once with what the federation can honour: the
//! list-changed kinds asked for, and the resource URIs some upstream owns (`server+uri`).
//! Then every upstream with something to listen for gets its own `subscriptions/listen`, with
//! the list-changed kinds and its own URIs in its own form; what comes back is merged, URIs
//! turned back into the client's form. An upstream listen that fails or ends is opened again
//! after a capped exponential backoff, for as long as the client listens, unless the upstream
//! said it has no such method (-32601): it then sends this client nothing. When the client
//! goes (its notifier closes, or the future is dropped) every upstream listen is dropped.
//! Each upstream listen is made as the client (its capabilities, its session, the log level it
//! opted in to), so the log messages an upstream sends on its own, outside any call, reach a
//! client that asked for their level.
//!
//! `resources/subscribe` is refused with -32602, with no upstream call, for a URI no upstream
//! owns; otherwise the owning upstream is asked (`resources/subscribe` in its own form) and its
//! refusal is the client's answer, so that nothing is recorded for a URI the upstream does not
//! serve. An upstream without the method (-32601, a modern one) accepts it implicitly. The
//! subscription itself is carried by the listens; `resources/unsubscribe` is passed on, its
//! failure ignored.

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use futures_util::future::join_all;
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tower::ServiceExt;

use super::Shared;
use super::member::Member;
use crate::McpError;
use crate::listen::{ACKNOWLEDGED, LISTEN, ListenFilter, RESOURCE_UPDATED, untag};
use crate::method::McpMethod;
use crate::notify::{Notifier, Outgoing};
use crate::request::ClientHop;
use crate::upstream::UpstreamRequest;
use agent_gateway_core::error::cause_ref;

/// The first wait before an upstream listen is opened again.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before an upstream listen is opened again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether the federation serves `method` here.
pub(super) fn handles(method: &McpMethod) -> bool {
    matches!(
        method,
        McpMethod::SubscriptionsListen
            | McpMethod::ResourcesSubscribe
            | McpMethod::ResourcesUnsubscribe
    )
}

pub(super) async fn serve(
    shared: Arc<Shared>,
    req: UpstreamRequest,
) -> Result<Map<String, Value>, BoxError> {
    let notifier = req.notifier().cloned();
    let client = req.client().cloned();
    let (method, params) = req.into_parts();
    match method {
        McpMethod::ResourcesSubscribe | McpMethod::ResourcesUnsubscribe => {
            let uri = params.get("uri").and_then(Value::as_str).unwrap_or("");
            let Some((member, original)) = owner(&shared, uri) else {
                if method == McpMethod::ResourcesUnsubscribe {
                    return Ok(Map::new());
                }
                return Err(Box::new(McpError::UnknownName {
                    kind: "resource",
                    name: uri.to_owned(),
                }));
            };
            // The owning upstream is asked first: a URI it refuses is not recorded.
            let ask =
                UpstreamRequest::new(method.clone(), uri_params(original)).with_client(client);
            match member.send(ask).await {
                Ok(_) => Ok(Map::new()),
                // An upstream with no per-request subscriptions (a modern one): its listen
                // carries the subscription.
                Err(e) if unsupported(&e) => Ok(Map::new()),
                Err(_) if method == McpMethod::ResourcesUnsubscribe => Ok(Map::new()),
                Err(e) => Err(e),
            }
        }
        _ => listen(shared, &params, notifier, client).await,
    }
}

fn uri_params(uri: &str) -> Map<String, Value> {
    Map::from_iter([("uri".to_owned(), json!(uri))])
}

/// The member owning a client-facing resource URI, and the URI in the member's own form.
fn owner<'a>(shared: &'a Shared, uri: &'a str) -> Option<(&'a Member, &'a str)> {
    shared.owner(uri, true)
}

async fn listen(
    shared: Arc<Shared>,
    params: &Map<String, Value>,
    notifier: Option<Notifier>,
    client: Option<ClientHop>,
) -> Result<Map<String, Value>, BoxError> {
    let Some(notifier) = notifier else {
        return Err(Box::new(McpError::InvalidParams(
            "subscriptions/listen needs a stream".into(),
        )));
    };
    let filter = ListenFilter::from_params(params)?;
    let mut honoured = filter.lists_only();
    let mut plans = Vec::new();
    for member in &shared.members {
        let mut own = filter.lists_only();
        for uri in filter.resource_uris() {
            if let Some((m, original)) = owner(&shared, uri)
                && m.name == member.name
            {
                own = own.resource(original);
                honoured = honoured.resource(uri);
            }
        }
        if !own.is_empty() {
            plans.push((member.clone(), own));
        }
    }
    let ack = Map::from_iter([("notifications".to_owned(), honoured.to_value())]);
    if !notifier.notify(ACKNOWLEDGED, ack).await {
        return Ok(Map::new());
    }
    let relays = plans
        .into_iter()
        .map(|(member, own)| relay(&shared, member, own, &notifier, client.as_ref()));
    tokio::select! {
        _ = join_all(relays) => {}
        () = notifier.closed() => {}
    }
    Ok(Map::new())
}

/// One upstream's listen, opened again whenever it ends, until the client goes. It is made as
/// the client (`hop`: its capabilities, its log level, its session), so the upstream's own log
/// messages at the client's level come back on it too.
async fn relay(
    shared: &Shared,
    member: Member,
    filter: ListenFilter,
    client: &Notifier,
    hop: Option<&ClientHop>,
) {
    let mut backoff = FIRST_BACKOFF;
    let level = hop.and_then(ClientHop::log_level);
    loop {
        let (notifier, mut notes) = Notifier::listen(filter.clone());
        let notifier = notifier.with_log_level(level);
        let req = UpstreamRequest::new(LISTEN, filter.to_params())
            .with_notifier(Some(notifier))
            .with_client(hop.cloned());
        let mut call = std::pin::pin!(member.service.clone().oneshot(req));
        let opened = Instant::now();
        let outcome = loop {
            tokio::select! {
                biased;
                () = client.closed() => return,
                Some(out) = notes.recv() => forward(shared, &member, client, out).await,
                out = &mut call => break out,
            }
        };
        while let Ok(out) = notes.try_recv() {
            forward(shared, &member, client, out).await;
        }
        match outcome {
            Ok(_) => tracing::debug!(upstream = %member.name, "mcp: upstream listen ended"),
            Err(e) if unsupported(&e) => {
                tracing::debug!(upstream = %member.name, "mcp: upstream serves no listen");
                return;
            }
            Err(e) => {
                tracing::warn!(upstream = %member.name, error = %e, "mcp: upstream listen failed")
            }
        }
        if opened.elapsed() > MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        tokio::select! {
            () = client.closed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Whether the upstream answered that it has no listen method.
fn unsupported(e: &BoxError) -> bool {
    matches!(
        cause_ref::<McpError>(e.as_ref()),
        Some(McpError::Upstream(o)) if o.code == ErrorObject::METHOD_NOT_FOUND
    )
}

/// Hands one upstream notification to the client, in the client's names.
async fn forward(shared: &Shared, member: &Member, client: &Notifier, out: Outgoing) {
    // A listen's notifier carries no requests.
    let Outgoing::Notification((method, mut params)) = out else {
        return;
    };
    if method == ACKNOWLEDGED {
        // The federation acknowledged for everyone already.
        return;
    }
    untag(&mut params);
    if method == RESOURCE_UPDATED {
        let Some(uri) = params.get("uri").and_then(Value::as_str) else {
            return;
        };
        // Hidden when it would read as another upstream's (an unprefixed member's URI).
        let Some(joined) = shared.public_name(member, uri, true) else {
            return;
        };
        params.insert("uri".into(), json!(joined));
    }
    client.notify(&method, params).await;
}
