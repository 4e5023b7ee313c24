//! The simplest router: one upstream served directly behind the front, with no renaming.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::router::Direct;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::{McpError, McpRequest};
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let server = tower::service_fn(|req: UpstreamRequest| async move {
//!     match req.method_name() {
//!         "tools/list" => Ok(Map::from_iter([("tools".to_owned(), json!([]))])),
//!         m => Err(BoxError::from(McpError::MethodNotFound(m.to_owned()))),
//!     }
//! });
//! let direct = Direct::new(server);
//! let ok = direct.clone().oneshot(McpRequest::from_value(1, "tools/list", json!({}))).await.unwrap();
//! assert_eq!(ok.result()["tools"], json!([]));
//! assert!(direct.oneshot(McpRequest::from_value(2, "x/y", json!({}))).await.is_err());
//! # });
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use futures_util::TryFutureExt;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::translate::{Parked, send_fulfilling};
use crate::upstream::{UpstreamRequest, tag_upstream};
use crate::{McpRequest, McpResponse};

/// Serves one upstream directly, with no renaming: the simplest inner service for a front.
#[derive(Debug, Clone)]
pub struct Direct<S> {
    inner: S,
    parked: Arc<Parked>,
}

impl<S> Direct<S> {
    /// Serves `inner` directly.
    pub fn new(inner: S) -> Self {
        Direct {
            inner,
            parked: Arc::default(),
        }
    }

    /// The upstream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<McpRequest> for Direct<S>
where
    S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = McpResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<McpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: McpRequest) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let parked = self.parked.clone();
        // A request on a legacy session must come from its owner, before anything else.
        if let Err(e) = req.check_session_owner() {
            return Box::pin(async move { Err(Box::new(e) as BoxError) });
        }
        if req.is_admission_only() {
            // Answered by the front once admitted: the upstream is not asked, but the end of
            // a legacy session is told to its connector.
            let res = McpResponse::for_method(req.method(), Value::Object(Map::new()));
            let ended = super::session_end(req);
            return Box::pin(async move {
                if let Some(up) = ended {
                    super::tell_session_end(inner.oneshot(up)).await;
                }
                Ok(res)
            });
        }
        let mut up = UpstreamRequest::from_request(req.into_parts());
        // As the federation does: the client's protocol `_meta` describes its hop to the
        // gateway, not the connector's hop upstream (a legacy server refuses a modern one).
        up.drop_client_protocol_meta();
        let method = up.method().clone();
        Box::pin(async move {
            // What the upstream answered is tagged as its own, for the audit record.
            let send = move |up| inner.clone().oneshot(up).map_err(tag_upstream);
            let result = send_fulfilling(up, &parked, send).await?;
            Ok(McpResponse::for_method(&method, Value::Object(result)))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn the_clients_protocol_meta_stays_on_its_hop_and_the_rest_travels() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recording = seen.clone();
        let server = tower::service_fn(move |req: UpstreamRequest| {
            recording
                .lock()
                .expect("not poisoned")
                .push(req.params().clone());
            async move { Ok::<_, BoxError>(Map::from_iter([("content".to_owned(), json!([]))])) }
        });
        let call = |meta: Value| {
            McpRequest::from_value(
                1,
                "tools/call",
                json!({"name": "echo", "arguments": {}, "_meta": meta}),
            )
        };
        let modern = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "progressToken": 7,
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        });
        let direct = Direct::new(server);
        direct
            .clone()
            .oneshot(call(modern))
            .await
            .expect("answered");
        let only_protocol = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        direct.oneshot(call(only_protocol)).await.expect("answered");

        let seen = seen.lock().expect("not poisoned");
        assert_eq!(
            seen[0]["_meta"],
            json!({
                "progressToken": 7,
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            }),
            "protocol keys dropped, the others kept"
        );
        assert!(
            !seen[1].contains_key("_meta"),
            "an emptied _meta is removed: {:?}",
            seen[1]
        );
        assert_eq!(seen[1]["name"], "echo");
    }
}
