//! `subscriptions/listen` to a stdio upstream: the child's change notifications, which name no
//! request, go to every listen whose filter admits them, and its log messages (which name no
//! request either) to every listen whose client asked for their level.
//!
//! A stdio child speaks the legacy era, so a listen is served here: its URIs are subscribed
//! with `resources/subscribe` (one the child refuses is left out of the acknowledgment), then
//! it is acknowledged, then it relays. The child keeps its subscriptions while it runs
//! (each listener only gets the URIs it asked for). When the child goes down the listen
//! fails with [`StdioError::Exited`]: its subscriptions went with the child, and the caller
//! listens again once a new one is up.

use agent_gateway_core::BoxError;
use serde_json::{Map, Value, json};

use super::error::StdioError;
use super::{Shared, exchange};
use crate::McpError;
use crate::listen::{ACKNOWLEDGED, ListenFilter, SUBSCRIBE};
use crate::upstream::UpstreamRequest;
use agent_gateway_core::error::cause_ref;

pub(super) use crate::connector::changes::{CAPACITY, Change, is_change};

pub(super) async fn listen(
    shared: &Shared,
    req: UpstreamRequest,
) -> Result<Map<String, Value>, BoxError> {
    let Some(notifier) = req.notifier().cloned() else {
        return Err(Box::new(McpError::InvalidParams(
            "subscriptions/listen needs a stream".into(),
        )));
    };
    let filter = ListenFilter::from_params(req.params())?;
    let mut changes = shared.changes.subscribe();
    let running = shared
        .slot
        .lock()
        .is_ok_and(|s| s.as_ref().is_some_and(|l| l.ready));
    if !running {
        return Err(Box::new(StdioError::NotRunning));
    }
    let mut honoured = filter.lists_only();
    for uri in filter.resource_uris() {
        let params = Map::from_iter([("uri".to_owned(), json!(uri))]);
        match exchange(shared, SUBSCRIBE, params, None, None, true).await {
            Ok(_) => honoured = honoured.resource(uri),
            Err(e) if cause_ref::<McpError>(e.as_ref()).is_some() => {
                tracing::warn!(upstream = %shared.label, uri, error = %e, "mcp stdio: subscription refused");
            }
            Err(e) => return Err(e),
        }
    }
    let ack = Map::from_iter([("notifications".to_owned(), honoured.to_value())]);
    if !notifier.notify(ACKNOWLEDGED, ack).await {
        return Ok(Map::new());
    }
    crate::connector::changes::relay(&notifier, &mut changes, || Box::new(StdioError::Exited)).await
}
