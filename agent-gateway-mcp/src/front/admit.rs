//! What the front does on a session by itself (ending it, cancelling a request, delivering a
//! client's answer, replaying a broken stream) and notifications: each is first sent through
//! the inner service as an admission-only request, so the policy stack admits it like any
//! request (no credential: 401), and a legacy session's owner check runs before it acts.

use agent_gateway_core::jsonrpc::Id;
use agent_gateway_core::{AgentRequest, BoxError, Caller};
use http::request::Parts;
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::render::rendered;
use crate::era::Era;
use crate::error::Rendered;
use crate::method::McpMethod;
use crate::session::{SessionBinding, SessionState};
use crate::{McpError, McpRequest, McpResponse};

/// The caller an HTTP layer in front of the front established, if any: who owns what the front
/// does when the inner service records no caller.
pub(super) fn http_caller(parts: &Parts) -> Option<[u8; 16]> {
    parts.extensions.get::<Caller>().map(Caller::owner_digest)
}

/// Admits `method` with `params` (an action of the front's own, or a notification) through
/// `inner`, on `session` if it came on one. `Ok` once the policy stack admitted it and, on a
/// session, its caller owns the session; else the error to answer with (session-not-found for
/// another caller's session).
pub(super) async fn admit<S>(
    inner: S,
    method: McpMethod,
    params: Map<String, Value>,
    era: Era,
    session: Option<&SessionState>,
    parts: Parts,
) -> Result<(), Rendered>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError>,
{
    let fallback = http_caller(&parts);
    let binding = session.map(|s| SessionBinding::on(s.owner()));
    let id = Id::from(method.as_str());
    let mut req = McpRequest::new(id, method, params)
        .with_era(era)
        .with_admission_only(true)
        .with_headers(parts.headers)
        .with_extensions(parts.extensions);
    if let Some(b) = &binding {
        req.extensions_mut().insert(b.clone());
    }
    inner
        .oneshot(req)
        .await
        .map_err(|e: BoxError| rendered(era, &e))?;
    match binding {
        Some(b) if !b.owned_by_caller(fallback) => Err(not_found()),
        _ => Ok(()),
    }
}

/// The session-not-found answer, as an error of the inner service renders it.
pub(super) fn not_found() -> Rendered {
    Rendered::from_error(&McpError::SessionNotFound)
}
