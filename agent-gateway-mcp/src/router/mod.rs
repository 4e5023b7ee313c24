//! Routers: the inner services behind the front that decide which upstream serves a request.
//!
//! [`Direct`] serves one upstream as it is; [`federation`] serves many behind reversible
//! names; [`translate`] carries input requests across the protocol eras for both. A router
//! answers an admission-only request ([`McpRequest::is_admission_only`](crate::McpRequest::is_admission_only))
//! with an empty result and calls no upstream, except that a legacy client session's end
//! ([`McpMethod::SessionDelete`], with the session's
//! [`ClientHop`](crate::request::ClientHop)) is passed to every upstream connector, within
//! [`SESSION_END_TIMEOUT`]: those that keep something per client session (a stdio child, a
//! legacy SSE stream, an HTTP upstream session) end it, and answer at once without asking
//! the server; whatever a service answers is ignored.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::router::Direct;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::McpRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let server = tower::service_fn(|_req: UpstreamRequest| async move {
//!     Err::<Map<String, serde_json::Value>, _>(BoxError::from("the upstream is never asked"))
//! });
//! // `ping` is answered by the front: the router only admits it.
//! let ping = McpRequest::from_value(1, "ping", json!({})).with_admission_only(true);
//! let res = Direct::new(server).oneshot(ping).await.unwrap();
//! assert!(res.result().is_empty());
//! # });
//! ```

mod direct;
pub mod federation;
pub mod translate;

pub use direct::Direct;

use std::time::Duration;

use agent_gateway_core::BoxError;
use serde_json::{Map, Value};

use crate::McpRequest;
use crate::method::McpMethod;
use crate::upstream::UpstreamRequest;

/// How long a router waits for an upstream connector to end what it keeps for a session that
/// ended: connectors answer at once (they end it in the background), so this only bounds a
/// service that asks its server, which a `DELETE` must not wait on for long.
pub const SESSION_END_TIMEOUT: Duration = Duration::from_secs(2);

/// The request that tells connectors `req`'s legacy session ended, if `req` is that end.
fn session_end(req: McpRequest) -> Option<UpstreamRequest> {
    if req.method() != &McpMethod::SessionDelete {
        return None;
    }
    let up = UpstreamRequest::from_request(req.into_parts());
    up.client()
        .is_some_and(|c| c.session().is_some())
        .then_some(up)
}

/// Awaits one connector's answer to a session's end, bounded; the answer is ignored.
async fn tell_session_end<F>(call: F)
where
    F: std::future::Future<Output = Result<Map<String, Value>, BoxError>>,
{
    match tokio::time::timeout(SESSION_END_TIMEOUT, call).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "mcp: an upstream did not take a session's end"),
        Err(_) => tracing::debug!("mcp: an upstream took too long to take a session's end"),
    }
}
