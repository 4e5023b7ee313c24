//! `subscriptions/listen` to a legacy SSE upstream, served as for a stdio child: the URIs it
//! names are subscribed on the shared stream's session with `resources/subscribe` (one the
//! server refuses is left out of the acknowledgment), then it is acknowledged, then the
//! stream's change notifications that its filter admits are relayed until its client goes or
//! the stream is lost ([`SseUpstreamError::Lost`]: the subscriptions went with it, and the
//! caller listens again). The server keeps its subscriptions while the stream lasts.

use agent_gateway_core::BoxError;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::transport::HttpTransport;
use serde_json::{Map, Value, json};

use super::{SseUpstream, SseUpstreamError};
use crate::McpError;
use crate::connector::changes;
use crate::listen::{ACKNOWLEDGED, ListenFilter, SUBSCRIBE};
use crate::upstream::UpstreamRequest;

impl<C> SseUpstream<C>
where
    C: HttpTransport,
{
    /// Serves one `subscriptions/listen` request.
    pub(super) async fn listen(
        &self,
        req: UpstreamRequest,
    ) -> Result<Map<String, Value>, BoxError> {
        let Some(notifier) = req.notifier().cloned() else {
            return Err(Box::new(McpError::InvalidParams(
                "subscriptions/listen needs a stream".into(),
            )));
        };
        let filter = ListenFilter::from_params(req.params())?;
        let link = self.link().await?;
        let mut changes = self.shared.changes.subscribe();
        if !link.inflight.is_open() {
            // Lost before we listened: its end was told to no one.
            return Err(Box::new(SseUpstreamError::Lost));
        }
        let mut honoured = filter.lists_only();
        for uri in filter.resource_uris() {
            let params = Map::from_iter([("uri".to_owned(), json!(uri))]);
            match self.exchange(&link, SUBSCRIBE, params, None, None).await {
                Ok(_) => honoured = honoured.resource(uri),
                Err(e) if cause_ref::<McpError>(e.as_ref()).is_some() => {
                    tracing::warn!(uri, error = %e, "mcp sse: subscription refused");
                }
                Err(e) => return Err(e),
            }
        }
        let ack = Map::from_iter([("notifications".to_owned(), honoured.to_value())]);
        if !notifier.notify(ACKNOWLEDGED, ack).await {
            return Ok(Map::new());
        }
        changes::relay(&notifier, &mut changes, || Box::new(SseUpstreamError::Lost)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;
    use tower::ServiceExt;

    use super::*;
    use crate::listen::LISTEN;
    use crate::notify::{Notifier, Outgoing};
    use crate::testkit::{FakeMcpServer, LegacySseServer};

    async fn next(rx: &mut tokio::sync::mpsc::Receiver<Outgoing>) -> (String, Map<String, Value>) {
        match rx.recv().await {
            Some(Outgoing::Notification(note)) => note,
            other => panic!("not a notification: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_listen_subscribes_is_acknowledged_relays_changes_and_ends_with_the_stream() {
        let server = LegacySseServer::new(FakeMcpServer::new().with_resource("file:///a", "A"));
        let up = SseUpstream::new(server.clone(), "http://old.test/sse".parse().unwrap());
        let filter = ListenFilter::new().tools().resource("file:///a");
        let (notifier, mut rx) = Notifier::listen(filter.clone());
        let req = UpstreamRequest::new(LISTEN, filter.to_params()).with_notifier(Some(notifier));
        let listen = tokio::spawn(up.clone().oneshot(req));

        let (method, ack) = next(&mut rx).await;
        assert_eq!(method, ACKNOWLEDGED);
        assert_eq!(ack["notifications"]["toolsListChanged"], true);
        assert_eq!(
            ack["notifications"]["resourceSubscriptions"],
            json!(["file:///a"])
        );
        // Subscribed upstream, and never sent as a plain request.
        let methods = server.methods();
        assert!(methods.iter().any(|m| m == SUBSCRIBE), "{methods:?}");
        assert!(!methods.iter().any(|m| m == LISTEN), "{methods:?}");

        server.push(&json!({"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"}));
        server.push(&json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
        server.push(
            &json!({"jsonrpc": "2.0", "method": "notifications/resources/updated",
                            "params": {"uri": "file:///a"}}),
        );
        // Prompts were not asked for: the tools change comes first.
        assert_eq!(next(&mut rx).await.0, "notifications/tools/list_changed");
        let (method, params) = next(&mut rx).await;
        assert_eq!(method, "notifications/resources/updated");
        assert_eq!(params["uri"], "file:///a");

        server.drop_streams();
        let err = listen.await.unwrap().unwrap_err();
        assert_eq!(err.downcast_ref(), Some(&SseUpstreamError::Lost));
    }
}
