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
//! not speak) is remembered for [`LEGACY_REFUSAL_EXPIRY`] (an upstream upgraded or restarted
//! meanwhile is asked again), and legacy clients are then served in the upstream's own era with
//! era translation, as before; a failure that says nothing (a timeout, a 5xx) is passed on
//! and the next client tries again. An upstream pinned to an era
//! ([`HttpUpstream::with_era`]) is always spoken to in that era.

use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::transport::HttpTransport;
use http::StatusCode;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::{ConnectorError, HttpUpstream};
use crate::McpError;
use crate::upstream::UpstreamRequest;

/// How long an upstream's refusal of legacy sessions is remembered before a legacy client's
/// `initialize` asks it again: long enough that an upstream without them is not sent a
/// doomed handshake per client, short enough that one redeployed with them is used within
/// minutes.
pub const LEGACY_REFUSAL_EXPIRY: Duration = Duration::from_secs(300);

/// What is known of an upstream's legacy sessions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Support {
    /// Not asked yet (or the refusal expired).
    #[default]
    Unknown,
    /// It keeps them.
    Kept,
    /// It refused them at this instant.
    Refused(Instant),
}

impl Support {
    /// Whether a refusal is remembered at `now`.
    fn refused(self, now: Instant) -> bool {
        matches!(self, Support::Refused(at) if now.duration_since(at) < LEGACY_REFUSAL_EXPIRY)
    }
}

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
        if self.shared.fixed.is_some()
            || self
                .shared
                .state
                .lock()
                .await
                .legacy
                .refused(Instant::now())
        {
            return Ok(None);
        }
        match self.session(false, client).await {
            Ok(_) => {
                self.shared.state.lock().await.legacy = Support::Kept;
                self.legacy(req.clone()).await.map(Some)
            }
            Err(e) if refuses_legacy(&*e) => {
                tracing::debug!(
                    uri = %self.shared.uri,
                    error = %e,
                    "mcp: upstream keeps no legacy sessions; legacy clients are translated"
                );
                self.shared.state.lock().await.legacy = Support::Refused(Instant::now());
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
