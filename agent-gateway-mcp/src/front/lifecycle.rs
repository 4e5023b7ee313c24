//! What the front does besides forwarding requests: legacy sessions (`initialize`, DELETE,
//! 404 for unknown ones), the client's hop (capabilities and log level), notifications
//! (`notifications/cancelled` included) and a legacy client's answers to server→client
//! requests.

use agent_gateway_core::jsonrpc::{ErrorObject, Id, Payload};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::Front;
use super::checks::{self, MCP_METHOD};
use super::render::{self, MCP_SESSION_ID, ResponseBody};
use super::render::{Failure, bad};
use crate::era::{Era, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_LOG_LEVEL};
use crate::request::ClientHop;

/// Routes a legacy client's answer to the server→client request that waits for it. Answers to
/// unknown, finished or another session's requests are ignored, as receivers of late answers
/// do.
pub(super) fn answer_client_request(
    front: &Front,
    session: &str,
    res: agent_gateway_core::jsonrpc::Response,
) {
    let Some(Id::String(id)) = res.id else {
        return;
    };
    let answer = match res.payload {
        Payload::Result(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ErrorObject::invalid_params(
                "the client's result is not an object",
            )),
        },
        Payload::Error(e) => Err(e),
    };
    if !front.store.pending.answer(session, &id, answer) {
        tracing::debug!(id = %id, "mcp: an answer no request waits for, ignored");
    }
}

/// A notification: 202 once its mirrored method and any legacy session check out. A legacy
/// `notifications/cancelled` drops the named request of the same session; other
/// notifications go no further.
pub(super) fn notification(
    front: &Front,
    headers: &HeaderMap,
    n: &agent_gateway_core::jsonrpc::Notification,
) -> Response<ResponseBody> {
    let method = n.method.as_str();
    match checks::header_text(headers, MCP_METHOD) {
        Ok(Some(h)) if h != method => {
            let error = ErrorObject::new(
                crate::error::CODE_HEADER_MISMATCH,
                "Header mismatch: Mcp-Method",
            );
            return render::error(None, bad(StatusCode::BAD_REQUEST, error), None);
        }
        Err(r) => return render::error(None, r, None),
        Ok(_) => {}
    }
    if front.config.legacy
        && let Some(session) = headers.get(MCP_SESSION_ID)
    {
        let Some(session) = session.to_str().ok().filter(|s| front.session(s).is_some()) else {
            return session_not_found(None);
        };
        if method == "notifications/cancelled" {
            // A legacy client cancelling one of its requests: the call is dropped, which
            // cancels it upstream too (a closed stream, or the upstream's own notification).
            let id = n
                .params
                .as_deref()
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                .and_then(|p| p.get("requestId").cloned())
                .filter(|i| i.is_string() || i.is_number());
            if let Some(id) = id {
                front.store.cancels.cancel(session, &id.to_string());
            }
        }
    }
    render::empty(StatusCode::ACCEPTED)
}

pub(super) fn delete_session(front: &Front, headers: &HeaderMap) -> Response<ResponseBody> {
    match headers.get(MCP_SESSION_ID).and_then(|v| v.to_str().ok()) {
        None => render::error(
            None,
            bad(
                StatusCode::BAD_REQUEST,
                ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
            ),
            None,
        ),
        // A valid id is ended here: this replica answers 404 for it from now on (another
        // replica accepts it until it expires, sealed ids being stateless).
        Some(id) => match front.session(id) {
            Some(state) => {
                let owner = crate::session::session_owner(&state, id);
                let now = front.config.sealer.now();
                // Fail closed: a session that cannot be remembered as ended is not ended.
                if !front
                    .store
                    .revoked
                    .revoke(id, owner, state.expires_at(), now)
                {
                    tracing::warn!("mcp: too many ended sessions to remember one more");
                    return render::error(
                        None,
                        bad(
                            StatusCode::SERVICE_UNAVAILABLE,
                            ErrorObject::new(
                                ErrorObject::INTERNAL_ERROR,
                                "too many sessions ended: this one was not, try again later",
                            ),
                        ),
                        None,
                    );
                }
                front.store.log_levels.forget(id);
                front.store.subscriptions.forget(id);
                render::empty(StatusCode::OK)
            }
            None => session_not_found(None),
        },
    }
}

pub(super) fn session_not_found(id: Option<Id>) -> Response<ResponseBody> {
    render::error(
        id,
        bad(
            StatusCode::NOT_FOUND,
            ErrorObject::invalid_request("Session not found"),
        ),
        None,
    )
}

/// A request id as the client's `notifications/cancelled` names it: its JSON text.
pub(super) fn id_key(id: &Id) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

/// What the client declared on its hop: from the request's `_meta` (modern), or from its
/// sealed session and `logging/setLevel` (legacy, where a client that set no level gets every
/// message, as a legacy server would send).
pub(super) fn client_hop(
    front: &Front,
    era: Era,
    params: &Map<String, Value>,
    session: Option<&(String, crate::session::SessionState)>,
) -> ClientHop {
    match (era, session) {
        (Era::Legacy, Some((id, state))) => {
            let level = front
                .store
                .log_levels
                .get(id)
                .unwrap_or_else(|| "debug".into());
            // Connectors key upstream sessions by a digest, never by the id itself.
            let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
            let key: String = digest.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            ClientHop::new(state.capabilities().clone(), Some(level)).with_session(key)
        }
        (Era::Legacy, None) => ClientHop::default(),
        (Era::Modern, _) => {
            let meta = params.get("_meta");
            let capabilities = meta
                .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
                .cloned()
                .unwrap_or_default();
            let level = meta
                .and_then(|m| m.get(META_LOG_LEVEL))
                .and_then(Value::as_str)
                .map(str::to_owned);
            ClientHop::new(capabilities, level)
        }
    }
}

pub(super) fn initialize(
    front: &Front,
    id: Id,
    params: &Map<String, Value>,
) -> Result<Response<ResponseBody>, Failure> {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|v| LEGACY_VERSIONS.contains(v))
        .unwrap_or(LEGACY_VERSIONS[0]);
    let capabilities = params.get("capabilities").cloned().unwrap_or_default();
    let session = front
        .config
        .sealer
        .seal_with(version, &capabilities)
        .map_err(|e| {
            tracing::error!(error = %e, "mcp: could not seal a session id");
            (
                Some(id.clone()),
                bad(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorObject::internal_error(),
                ),
            )
        })?;
    let mut result = Map::new();
    result.insert("protocolVersion".into(), json!(version));
    result.insert("capabilities".into(), front.config.capabilities.clone());
    result.insert("serverInfo".into(), front.config.server_info());
    if let Some(i) = &front.config.instructions {
        result.insert("instructions".into(), json!(i));
    }
    let mut res = render::result(id.clone(), result);
    let value = HeaderValue::from_str(&session).map_err(|_| {
        (
            Some(id),
            bad(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorObject::internal_error(),
            ),
        )
    })?;
    res.headers_mut().insert(MCP_SESSION_ID, value);
    Ok(res)
}
