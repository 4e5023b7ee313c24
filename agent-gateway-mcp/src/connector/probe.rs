//! The era probe of an HTTP upstream: which answers to a modern request settle the era, and the
//! backoff between probes while none has (finding 10: one odd first answer must not turn a
//! modern upstream legacy for good).

use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use http::StatusCode;
use tokio::time::Instant;

use super::wire::Answer;
use super::{ConnectorError, HttpUpstream, modern_error};
use crate::era::Era;

/// The wait before the era is probed again after an answer that did not settle it: long
/// enough that a rate-limited upstream is not hammered, short enough that a restart is seen
/// quickly.
pub const PROBE_FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between two era probes (the backoff doubles up to it): an upstream down
/// for long is still found within a minute of coming back.
pub const PROBE_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The error code the TypeScript SDK's legacy transport answers a request without a session
/// with (`Bad Request: Mcp-Session-Id header is required`).
const SDK_SESSION_REQUIRED: i64 = -32000;

/// The probe's state while no answer has settled the era.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// No probe before this instant.
    retry_at: Option<Instant>,
    /// The next wait.
    wait: Duration,
    /// What the last indefinite answer was, told to requests during the wait.
    status: Option<StatusCode>,
}

/// The era an answer to a modern request settles, or `None` when it settles nothing.
pub(super) fn verdict(answer: &Answer) -> Option<Era> {
    if modern_error(answer) {
        return Some(Era::Modern);
    }
    match (answer.status, &answer.outcome) {
        // A legacy server refusing a request that opened no session.
        (StatusCode::BAD_REQUEST, None) => Some(Era::Legacy),
        (StatusCode::BAD_REQUEST, Some(Err(e)))
            if e.code == ErrorObject::INVALID_REQUEST || e.code == SDK_SESSION_REQUIRED =>
        {
            Some(Era::Legacy)
        }
        // No POST here for a modern request: not a streamable-HTTP server of this era.
        (StatusCode::METHOD_NOT_ALLOWED, _) => Some(Era::Legacy),
        // 429, 401, 403, 404, 5xx, a 400 about the parameters: nothing about the era.
        _ => None,
    }
}

/// Whether an answer that says legacy may instead be a modern server refusing the request
/// itself (a 400 with -32600, invalid request): then `server/discover` decides.
pub(super) fn needs_confirmation(answer: &Answer) -> bool {
    answer.status == StatusCode::BAD_REQUEST
        && matches!(&answer.outcome, Some(Err(e)) if e.code == ErrorObject::INVALID_REQUEST)
}

impl<C> HttpUpstream<C>
where
    C: agent_gateway_core::transport::HttpTransport,
{
    /// Settles the era with `server/discover`, a request that changes nothing: the era found,
    /// recorded as any probe's (`None`: the answer said nothing, and the backoff starts).
    pub(super) async fn discover(&self) -> Result<Option<Era>, BoxError> {
        let discover =
            crate::upstream::UpstreamRequest::new("server/discover", serde_json::Map::new());
        let answer = self.probe_answer(self.modern(discover).await).await?;
        Ok(verdict(&answer))
    }
}

impl<C> HttpUpstream<C> {
    /// Whether a probe may be sent now; during the backoff, the status of the last indefinite
    /// answer as the error, and no upstream call.
    pub(super) async fn may_probe(&self) -> Result<(), BoxError> {
        let state = self.shared.state.lock().await;
        match (state.probe.retry_at, state.probe.status) {
            (Some(at), Some(status)) if Instant::now() < at => {
                Err(Box::new(ConnectorError::Status(status)))
            }
            _ => Ok(()),
        }
    }

    /// Records what a probe's answer (or failure) says: a definite era is cached, anything
    /// else starts or lengthens the backoff. The answer is passed on.
    pub(super) async fn probe_answer(
        &self,
        answer: Result<Answer, BoxError>,
    ) -> Result<Answer, BoxError> {
        let mut state = self.shared.state.lock().await;
        let settled = answer.as_ref().ok().and_then(verdict);
        if let Some(era) = settled {
            state.era = Some(era);
            state.probe = Backoff::default();
        } else {
            let status = match &answer {
                Ok(a) => a.status,
                Err(_) => StatusCode::BAD_GATEWAY,
            };
            let wait = state.probe.wait.max(PROBE_FIRST_BACKOFF);
            state.probe = Backoff {
                retry_at: Some(Instant::now() + wait),
                wait: (wait * 2).min(PROBE_MAX_BACKOFF),
                status: Some(status),
            };
        }
        answer
    }
}
