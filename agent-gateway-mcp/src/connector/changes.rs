//! What the listens on a channel shared by every client (a stdio child, a legacy SSE stream)
//! hear: the server's change notifications, which name no request, broadcast to every
//! `subscriptions/listen` whose filter admits them, and the end of the channel, which ends
//! them all (their subscriptions went with it).

use agent_gateway_core::BoxError;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::listen::{
    PROMPTS_LIST_CHANGED, RESOURCE_UPDATED, RESOURCES_LIST_CHANGED, TOOLS_LIST_CHANGED,
};
use crate::notify::{Notifier, Relayed};

/// How many change notifications wait for the slowest listener before it misses some.
pub(crate) const CAPACITY: usize = 64;

/// What a shared channel's listeners hear.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A change notification from the server.
    Note(Relayed),
    /// The channel went down.
    Down,
}

/// Whether `method` is a change notification listeners may want.
pub(crate) fn is_change(method: &str) -> bool {
    matches!(
        method,
        TOOLS_LIST_CHANGED | PROMPTS_LIST_CHANGED | RESOURCES_LIST_CHANGED | RESOURCE_UPDATED
    )
}

/// Relays the changes to one listen until its client goes (`Ok`) or the channel does (the
/// error `gone` makes).
pub(crate) async fn relay(
    notifier: &Notifier,
    changes: &mut broadcast::Receiver<Change>,
    gone: fn() -> BoxError,
) -> Result<Map<String, Value>, BoxError> {
    loop {
        tokio::select! {
            () = notifier.closed() => return Ok(Map::new()),
            change = changes.recv() => match change {
                Ok(Change::Note((method, params))) => {
                    notifier.notify(&method, params).await;
                }
                Ok(Change::Down) | Err(broadcast::error::RecvError::Closed) => return Err(gone()),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "mcp: a listener fell behind its upstream");
                }
            },
        }
    }
}
