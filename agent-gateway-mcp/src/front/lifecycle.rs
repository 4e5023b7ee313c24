//! What the front does besides forwarding requests: legacy sessions (`initialize`, DELETE,
//! 404 for unknown ones), the client's hop (capabilities and log level), notifications
//! (`notifications/cancelled` included) and a legacy client's answers to server→client
//! requests.

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{ErrorObject, Id, Payload};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value, json};
use tower::Service;

use super::Front;
use super::admit::admit;
use super::checks::{self, MCP_METHOD};
use super::render::{self, MCP_SESSION_ID, ResponseBody};
use super::render::{Failure, bad};
use crate::era::{Era, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_LOG_LEVEL};
use crate::method::McpMethod;
use crate::request::ClientHop;
use crate::session::SessionState;
use crate::{McpRequest, McpResponse};

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

/// A notification: 202 once its mirrored method and any legacy session check out and the
/// policy stack admitted it (as the notification's own method, admission-only). A legacy
/// `notifications/cancelled` then drops the named request of the same session; other
/// notifications go no further.
pub(super) async fn notification<S>(
    front: &Front,
    inner: S,
    n: agent_gateway_core::jsonrpc::Notification,
    parts: Parts,
) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError>,
{
    let method = n.method.as_str();
    match checks::header_text(&parts.headers, MCP_METHOD) {
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
    let session = match opened(front, &parts.headers) {
        Ok(session) => session,
        Err(()) => return session_not_found(None),
    };
    let params = match n
        .params
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
    {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let requested = params
        .get("requestId")
        .filter(|i| i.is_string() || i.is_number())
        .map(Value::to_string);
    let era = if session.is_some() {
        Era::Legacy
    } else {
        Era::Modern
    };
    let state = session.as_ref().map(|(_, s)| s);
    let method = McpMethod::from(n.method);
    if let Err(r) = admit(inner, method.clone(), params, era, state, parts).await {
        return render::error(None, r, front.config.www_authenticate.as_ref());
    }
    if let (Some((session, _)), Some(id)) = (&session, requested)
        && method == "notifications/cancelled"
    {
        // A legacy client cancelling one of its requests: the call is dropped, which
        // cancels it upstream too (a closed stream, or the upstream's own notification).
        front.store.cancels.cancel(session, &id);
    }
    render::empty(StatusCode::ACCEPTED)
}

/// The legacy session a message names in `Mcp-Session-Id`: `Ok(None)` when it names none
/// (or the legacy era is off), `Err` when the id is forged, tampered, expired or ended.
pub(super) fn opened(
    front: &Front,
    headers: &HeaderMap,
) -> Result<Option<(String, SessionState)>, ()> {
    let Some(header) = headers.get(MCP_SESSION_ID).filter(|_| front.config.legacy) else {
        return Ok(None);
    };
    let id = header.to_str().map_err(|_| ())?;
    front
        .session(id)
        .map(|state| Some((id.to_owned(), state)))
        .ok_or(())
}

/// A legacy client's `DELETE`: once the policy stack admitted it and its caller owns the
/// session, the session ends on this replica.
pub(super) async fn delete_session<S>(
    front: &Front,
    inner: S,
    parts: Parts,
) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError>,
{
    let (id, state) = match opened(front, &parts.headers) {
        Ok(Some(session)) => session,
        Ok(None) => {
            return render::error(
                None,
                bad(
                    StatusCode::BAD_REQUEST,
                    ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
                ),
                None,
            );
        }
        Err(()) => return session_not_found(None),
    };
    let method = McpMethod::SessionDelete;
    // The session's hop goes with the admission: the router tells the upstream connectors,
    // which end what they keep for this session (a child process, a connection).
    let mut parts = parts;
    let session = (id, state);
    let hop = client_hop(front, Era::Legacy, &Map::new(), Some(&session));
    parts.extensions.insert(hop);
    let (id, state) = session;
    if let Err(r) = admit(inner, method, Map::new(), Era::Legacy, Some(&state), parts).await {
        return render::error(None, r, front.config.www_authenticate.as_ref());
    }
    // A valid id is ended here: this replica answers 404 for it from now on (another
    // replica accepts it until it expires, sealed ids being stateless).
    let owner = crate::session::session_owner(&state, &id);
    let now = front.config.sealer.now();
    // Fail closed: a session that cannot be remembered as ended is not ended.
    if !front
        .store
        .revoked
        .revoke(&id, owner, state.expires_at(), now)
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
    front.store.log_levels.forget(&id);
    front.store.subscriptions.forget(&id);
    render::empty(StatusCode::OK)
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

/// Opens a legacy session for `owner` (the digest of the caller the policy stack admitted,
/// `None` for no caller): the answer to `initialize`, with the sealed `Mcp-Session-Id`.
pub(super) fn initialize(
    front: &Front,
    id: Id,
    params: &Map<String, Value>,
    owner: Option<[u8; 16]>,
) -> Result<Response<ResponseBody>, Failure> {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|v| LEGACY_VERSIONS.contains(v))
        .unwrap_or(LEGACY_VERSIONS[0]);
    let capabilities = params.get("capabilities").cloned().unwrap_or_default();
    let session = front
        .config
        .sealer
        .seal_for(version, &capabilities, owner)
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
