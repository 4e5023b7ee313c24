//! A legacy client in front of an upstream that speaks both eras: the connector talks to the
//! upstream in the legacy era too, on the client's own upstream session (see `legacy`), so
//! that the upstream's server→client requests (sampling, elicitation, roots) reach the client
//! on its back-channel as the upstream sends them, and the answers go back.
//!
//! A dual-era server behaves differently per era: in the 2025-11-25 era its tools call the
//! client back; in the 2026-07-28 era the same tool has no back-channel and fails. Speaking the
//! newest era to it on behalf of a legacy client would lose what the client can do.
//!
//! Whether the upstream keeps legacy sessions is learnt from the first legacy client's
//! `initialize`: a definite refusal (a JSON-RPC error, a 400, 404 or 405, or a version we do
//! not speak) is remembered, and legacy clients are then served in the upstream's own era with
//! era translation, as before; a failure that says nothing (a timeout, a 5xx) is passed on
//! and the next client tries again. An upstream pinned to an era
//! ([`HttpUpstream::with_era`]) is always spoken to in that era.

use agent_gateway_core::BoxError;
use agent_gateway_core::transport::HttpTransport;
use http::StatusCode;
use serde_json::{Map, Value};

use super::{ConnectorError, HttpUpstream};
use crate::McpError;
use crate::upstream::UpstreamRequest;

impl<C> HttpUpstream<C>
where
    C: HttpTransport,
{
    /// Serves a legacy client's request in the legacy era when the upstream keeps legacy
    /// sessions: `Ok(Some(result))`. `Ok(None)` when it does not (or the era is pinned, or
    /// the client is not a legacy one): the caller serves it as any other request.
    pub(super) async fn as_legacy_client(
        &self,
        req: &UpstreamRequest,
    ) -> Result<Option<Map<String, Value>>, BoxError> {
        let Some(client) = req.client().filter(|c| c.session().is_some()) else {
            return Ok(None);
        };
        if self.shared.fixed.is_some() || self.shared.state.lock().await.legacy == Some(false) {
            return Ok(None);
        }
        match self.session(false, client).await {
            Ok(_) => {
                self.shared.state.lock().await.legacy = Some(true);
                self.legacy(req.clone()).await.map(Some)
            }
            Err(e) if refuses_legacy(&*e) => {
                tracing::debug!(
                    uri = %self.shared.uri,
                    error = %e,
                    "mcp: upstream keeps no legacy sessions; legacy clients are translated"
                );
                self.shared.state.lock().await.legacy = Some(false);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether an `initialize` failure says the upstream keeps no legacy sessions (rather than
/// that it could not be reached or is overloaded).
fn refuses_legacy(e: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(McpError::Upstream(_)) = e.downcast_ref::<McpError>() {
        return true;
    }
    match e.downcast_ref::<ConnectorError>() {
        Some(ConnectorError::Initialize) => true,
        Some(ConnectorError::Status(s)) => [
            StatusCode::BAD_REQUEST,
            StatusCode::NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED,
        ]
        .contains(s),
        _ => false,
    }
}
