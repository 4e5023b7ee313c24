//! The MCP front: an HTTP service serving both MCP eras on one endpoint, which decodes each
//! request once and hands it to an inner `Service<McpRequest>` (the user's policy stack, then
//! the federation router).
//!
//! ```
//! use agent_gateway_core::{BoxError, testkit::TestClient};
//! use agent_gateway_mcp::front::{McpFront, McpFrontConfig};
//! use agent_gateway_mcp::{McpRequest, McpResponse};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let inner = tower::service_fn(|req: McpRequest| async move {
//!     Ok::<_, BoxError>(McpResponse::for_method(req.method(), json!({"tools": []})))
//! });
//! let front = McpFront::new(inner, McpFrontConfig::new("gw", "1.0").unwrap());
//! let client = TestClient::new(front);
//! let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
//!                   "io.modelcontextprotocol/clientCapabilities": {}});
//! let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}});
//! let post = |body: &serde_json::Value, method: &str| client.post("/mcp")
//!     .header("accept", "application/json, text/event-stream")
//!     .header("mcp-protocol-version", "2026-07-28")
//!     .header("mcp-method", method)
//!     .json(body);
//!
//! let ok = post(&body, "tools/list").send().await;
//! assert_eq!(ok.status(), 200);
//! assert_eq!(ok.json()["result"]["resultType"], "complete");
//!
//! // The Mcp-Method header must mirror the body: 400 with -32020.
//! let bad = post(&body, "tools/call").send().await;
//! assert_eq!(bad.status(), 400);
//! assert_eq!(bad.json()["error"]["code"], -32020);
//! # });
//! ```
//!
//! # What it answers itself
//!
//! - Transport errors: a bad `Origin` (403), a method other than POST, GET or DELETE (405;
//!   GET and DELETE too when the legacy era is off), a
//!   `Content-Type` other than JSON (415), an `Accept` lacking JSON or SSE (406), a body over
//!   the limit (413), malformed JSON (400, -32700), a batch or an invalid envelope (400, -32600).
//! - Modern requests: `_meta` and mirrored-header validation (400 with -32602, -32020 or
//!   -32022), `server/discover`, unknown and legacy-only methods (404, -32601). Results get
//!   `resultType`, `ttlMs`/`cacheScope` and `_meta` serverInfo when the inner service left
//!   them out.
//! - Legacy requests: `initialize` (minting a sealed `Mcp-Session-Id` that remembers the
//!   client's capabilities and its owner), `ping`, `logging/setLevel`, a missing session (400),
//!   a forged, tampered, expired, deleted or another caller's session (404), `DELETE`. A legacy answer streamed as SSE
//!   opens with a priming event (an id, empty data, `retry`) and every event has an id; a
//!   client whose stream broke resumes it with `GET` and `Last-Event-ID` (the call goes on
//!   without it). Server→client requests are sent on the request's stream under random
//!   gateway ids, and the client's POSTed answers are routed back, from its own session only.
//! - Notifications are accepted with 202; a legacy `notifications/cancelled` drops the named
//!   request of the same session (answered -32800).
//!
//! # Sessions belong to their caller
//!
//! A legacy session is sealed with the digest of the caller who opened it
//! ([`Caller::owner_digest`](agent_gateway_core::Caller::owner_digest): authenticator, issuer,
//! tenant and subject), as the policy stack established it at `initialize`. Every later request
//! on it must come from that caller: POSTed requests, notifications (a cancellation
//! included), a client's answers to server→client requests, the GET stream, a `Last-Event-ID`
//! resumption and `DELETE`. Each goes through the inner service first (the front's own actions
//! as admission-only requests of action `Protocol`: `gateway/session/delete`,
//! `gateway/stream/resume`, `gateway/client/answer`, or the notification's own method), so
//! without a credential they get 401 like any request; then the router compares the caller
//! with the sealed owner ([`McpRequest::check_session_owner`](crate::McpRequest::check_session_owner))
//! before anything else happens. Another caller gets 404 "Session not found", the answer a
//! forged id gets, and reaches no upstream.
//!
//! A modern `subscriptions/listen` names resources in its filter: each one is admitted first
//! as an admission-only `resources/subscribe` (action `ReadResource`, the URI as target), so
//! a rule denying any of them refuses the whole listen.
//!
//! # Streaming answers
//!
//! A forwarded request from a client that accepts `text/event-stream` carries a
//! [`Notifier`](crate::notify::Notifier) in its extensions. When the upstream sends progress
//! or log notifications before its response, the answer becomes an SSE stream relaying each
//! one as it comes, then the response; otherwise it is plain JSON. Dropping the stream's body
//! drops the upstream call.
//!
//! # Notification streams
//!
//! A modern `subscriptions/listen` is answered with an SSE stream: first
//! `notifications/subscriptions/acknowledged` (never more than the client asked for), then
//! only the change notifications the client asked for, each tagged with the listen request's
//! id in `_meta["io.modelcontextprotocol/subscriptionId"]`, for as long as the client keeps
//! the stream open. A legacy session's GET stream (with `Accept: text/event-stream` and a valid
//! `Mcp-Session-Id`) carries the list-changed notifications and the updates of the resources
//! the session subscribed to with `resources/subscribe` (kept in memory, bounded). Both reach
//! the inner service as one `subscriptions/listen` request with a listen notifier, so the
//! policy stack admits them like any request; see [`crate::listen`] and
//! [`Federation`](crate::router::federation::Federation), which serves it for many upstreams. The
//! default [`McpFrontConfig`] capabilities advertise `listChanged` and resource `subscribe`.
//!
//! The methods it answers itself (`server/discover`, `initialize`, `ping`) still go through the
//! inner service first, as an admission check, so the user's policy stack governs them like
//! any other request (the request is [admission-only](crate::McpRequest::is_admission_only)); the inner result is then ignored.
//!
//! Every error of the inner service, including a core [`Denied`](agent_gateway_core::Denied),
//! is rendered in one place: see [`crate::error`].

mod admit;
mod checks;
mod config;
mod dispatch;
pub mod future;
mod layer;
mod lifecycle;
mod listen;
mod relay;
pub(crate) mod render;
mod stream;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use http::{Request, Response};
use http_body::Body;
use tower::Service;

pub use config::{DEFAULT_MAX_BODY, McpFrontConfig};
pub use layer::McpFrontLayer;
pub use render::ResponseBody;

use crate::session::{SessionState, SessionStore};
use crate::{McpRequest, McpResponse};

/// What every clone of a front shares: its settings and its live session tables.
#[derive(Debug)]
pub(crate) struct Front {
    pub(crate) config: McpFrontConfig,
    pub(crate) store: Arc<SessionStore>,
}

impl Front {
    /// Opens a legacy session id: its state, unless it is forged, tampered, expired or ended.
    pub(crate) fn session(&self, id: &str) -> Option<SessionState> {
        self.store.open(&self.config.sealer, id)
    }
}

/// The MCP front. `Error = Infallible`, so it mounts in an axum router at any path.
#[derive(Debug, Clone)]
pub struct McpFront<S> {
    inner: S,
    front: Arc<Front>,
}

impl<S> McpFront<S> {
    /// A front serving with `config` in front of `inner`, with a session store of its own.
    pub fn new(inner: S, config: McpFrontConfig) -> Self {
        McpFront::from_shared(
            inner,
            Arc::new(Front {
                config,
                store: Arc::default(),
            }),
        )
    }

    /// Keeps the live session tables in `store` instead of a store of its own, so several
    /// fronts (several routes) share one.
    pub fn with_session_store(mut self, store: Arc<SessionStore>) -> Self {
        self.front = Arc::new(Front {
            config: self.front.config.clone(),
            store,
        });
        self
    }

    /// The live session tables this front keeps.
    pub fn session_store(&self) -> &Arc<SessionStore> {
        &self.front.store
    }

    pub(crate) fn from_shared(inner: S, front: Arc<Front>) -> Self {
        McpFront { inner, front }
    }
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consumed.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for McpFront<S>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = future::ResponseFuture;

    /// Always ready, as axum expects: the inner service is driven to readiness in `call`, after
    /// the request is decoded (most requests never reach it).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let front = self.front.clone();
        future::ResponseFuture {
            inner: Box::pin(dispatch::handle(front, inner, req)),
        }
    }
}
