//! One request through the front: checks, decode once, era choice, then the inner service or
//! an answer of the front's own (`server/discover`, `initialize`, `ping`).

use std::sync::Arc;

use agent_gateway_core::jsonrpc::{ErrorObject, Id, Message, Payload, Request as RpcRequest};
use agent_gateway_core::{AgentRequest, BoxError};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value, json};
use tower::{Service, ServiceExt};

use super::checks::{self, MCP_METHOD, MCP_PROTOCOL_VERSION};
use super::config::FrontConfig;
use super::config::Inflight;
use super::render::{self, MCP_SESSION_ID, ResponseBody};
use super::{listen, relay};
use crate::McpError;
use crate::era::{Era, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_LOG_LEVEL};
use crate::error::Rendered;
use crate::notify::Notifier;
use crate::request::ClientHop;
use crate::{McpRequest, McpResponse};

/// The methods handed to the inner service; the front answers or refuses the rest.
pub(crate) const FORWARDED: [&str; 8] = [
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "completion/complete",
];

/// The methods the front answers itself, in the era that has them, after the inner service
/// admitted them.
pub(crate) const OWN: [(&str, Era); 4] = [
    ("server/discover", Era::Modern),
    ("initialize", Era::Legacy),
    ("ping", Era::Legacy),
    ("logging/setLevel", Era::Legacy),
];

fn bad(status: StatusCode, error: ErrorObject) -> Rendered {
    Rendered::new(status, error)
}

pub(crate) async fn handle<S, B>(
    config: Arc<FrontConfig>,
    inner: S,
    req: Request<B>,
) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    if let Err(r) =
        checks::origin(&config, &parts.headers).and_then(|()| checks::host(&config, &parts.headers))
    {
        return render::error(None, r, None);
    }
    match parts.method {
        Method::POST => {}
        Method::GET if config.legacy => return listen::get(config, inner, parts).await,
        Method::DELETE if config.legacy => return delete_session(&config, &parts.headers),
        _ => return render::method_not_allowed(config.legacy),
    }
    if let Err(r) =
        checks::content_type(&parts.headers).and_then(|()| checks::accept(&parts.headers))
    {
        return render::error(None, r, None);
    }
    let bytes = match read_body(body, config.max_body, &parts.headers).await {
        Ok(b) => b,
        Err(r) => return render::error(None, r, None),
    };
    let message = match Message::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            let res = e.to_response();
            let error = res
                .error_object()
                .cloned()
                .unwrap_or_else(ErrorObject::parse_error);
            return render::error(res.id, bad(StatusCode::BAD_REQUEST, error), None);
        }
    };
    match message {
        Message::Request(r) => {
            let www = config.www_authenticate.clone();
            request(&config, inner, r, parts)
                .await
                .unwrap_or_else(|(id, rendered)| render::error(id, rendered, www.as_ref()))
        }
        Message::Notification(n) => notification(&config, &parts.headers, &n),
        Message::Response(res) => {
            let session = parts
                .headers
                .get(MCP_SESSION_ID)
                .and_then(|v| v.to_str().ok())
                .filter(|id| config.legacy && config.session(id).is_some());
            if let Some(session) = session {
                answer_client_request(&config, session, res);
                render::empty(StatusCode::ACCEPTED)
            } else {
                render::error(
                    None,
                    bad(
                        StatusCode::BAD_REQUEST,
                        ErrorObject::invalid_request("Clients must not POST responses"),
                    ),
                    None,
                )
            }
        }
    }
}

/// Routes a legacy client's answer to the server→client request that waits for it. Answers to
/// unknown, finished or another session's requests are ignored, as receivers of late answers
/// do.
fn answer_client_request(
    config: &FrontConfig,
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
    if !config.pending.answer(session, &id, answer) {
        tracing::debug!(id = %id, "mcp: an answer no request waits for, ignored");
    }
}

/// A notification: 202 once its mirrored method and any legacy session check out. It is not
/// relayed upstream in this version.
fn notification(
    config: &FrontConfig,
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
    if config.legacy
        && let Some(session) = headers.get(MCP_SESSION_ID)
    {
        let Some(session) = session
            .to_str()
            .ok()
            .filter(|s| config.session(s).is_some())
        else {
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
                config.inflight.cancel(session, &id.to_string());
            }
        }
    }
    render::empty(StatusCode::ACCEPTED)
}

async fn read_body<B>(body: B, max: usize, headers: &HeaderMap) -> Result<bytes::Bytes, Rendered>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorObject::invalid_request("Payload Too Large"),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(bad(
            StatusCode::BAD_REQUEST,
            ErrorObject::invalid_request("Request body could not be read"),
        )),
    }
}

fn delete_session(config: &FrontConfig, headers: &HeaderMap) -> Response<ResponseBody> {
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
        Some(id) => match config.session(id) {
            Some(state) => {
                config.log_levels.forget(id);
                config.subscriptions.forget(id);
                if !config
                    .revoked
                    .revoke(id, state.expires_at(), config.sealer.now())
                {
                    tracing::warn!("mcp: too many ended sessions to remember one more");
                }
                render::empty(StatusCode::OK)
            }
            None => session_not_found(None),
        },
    }
}

fn session_not_found(id: Option<Id>) -> Response<ResponseBody> {
    render::error(
        id,
        bad(
            StatusCode::NOT_FOUND,
            ErrorObject::invalid_request("Session not found"),
        ),
        None,
    )
}

fn era_of(
    config: &FrontConfig,
    method: &str,
    params: &Map<String, Value>,
    headers: &HeaderMap,
) -> Era {
    if !config.legacy || checks::meta_version(params).is_some() {
        return Era::Modern;
    }
    let legacy_header = headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| LEGACY_VERSIONS.contains(&v));
    if method == "initialize" || headers.contains_key(MCP_SESSION_ID) || legacy_header {
        Era::Legacy
    } else {
        Era::Modern
    }
}

type Failure = (Option<Id>, Rendered);

async fn request<S>(
    config: &Arc<FrontConfig>,
    inner: S,
    r: RpcRequest,
    parts: http::request::Parts,
) -> Result<Response<ResponseBody>, Failure>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Send + 'static,
    S::Future: Send,
{
    let id = r.id;
    let fail = |rendered: Rendered| (Some(id.clone()), rendered);
    let params = match r
        .params
        .as_deref()
        .map(|raw| serde_json::from_str::<Value>(raw.get()))
    {
        None => Map::new(),
        Some(Ok(Value::Object(m))) => m,
        Some(_) => {
            return Err(fail(bad(
                StatusCode::BAD_REQUEST,
                ErrorObject::invalid_params("params must be an object"),
            )));
        }
    };
    let method = r.method;
    let era = era_of(config, &method, &params, &parts.headers);
    let mut session: Option<(String, crate::session::SessionState)> = None;
    match era {
        Era::Modern if !config.modern => {
            // What a legacy-only server answers; an era probe reads it as "legacy".
            return Err(fail(bad(
                StatusCode::BAD_REQUEST,
                ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
            )));
        }
        Era::Modern => checks::modern(&parts.headers, &method, &params).map_err(fail)?,
        Era::Legacy if method == "initialize" => {}
        Era::Legacy => {
            let Some(header) = parts.headers.get(MCP_SESSION_ID) else {
                return Err(fail(bad(
                    StatusCode::BAD_REQUEST,
                    ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
                )));
            };
            let opened = header
                .to_str()
                .ok()
                .and_then(|s| config.session(s).map(|state| (s.to_owned(), state)));
            if opened.is_none() {
                return Ok(session_not_found(Some(id)));
            }
            session = opened;
            if let Some(v) = parts.headers.get(MCP_PROTOCOL_VERSION)
                && !v.to_str().is_ok_and(|v| LEGACY_VERSIONS.contains(&v))
            {
                return Err(fail(bad(
                    StatusCode::BAD_REQUEST,
                    ErrorObject::invalid_request("Bad Request: unsupported MCP-Protocol-Version"),
                )));
            }
        }
    }
    if listen::handles(&method, era) {
        return listen::request(config, inner, id.clone(), method, params, era, parts)
            .await
            .map_err(fail);
    }
    let own = OWN.iter().any(|(m, e)| *m == method && *e == era);
    if !own && !FORWARDED.contains(&method.as_str()) {
        let status = if era == Era::Modern {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        return Err(fail(bad(status, ErrorObject::method_not_found(&method))));
    }
    // Every request goes through the inner service, the user's policy stack included. For the
    // methods the front answers itself, that call is the admission check: an error refuses the
    // request (an unauthenticated `initialize` is a 401 like any other), and the front then
    // writes the answer.
    let hop = client_hop(config, era, &params, session.as_ref());
    let notes = (!own && checks::accepts_sse(&parts.headers)).then(|| {
        let token = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .cloned();
        let (notifier, notes) = Notifier::channel(token);
        let notifier = notifier.with_log_level(hop.log_level());
        // Only a legacy client, on the stream of its own request, can be sent requests.
        match era {
            Era::Legacy if session.is_some() => (notifier.with_requests(), notes),
            _ => (notifier, notes),
        }
    });
    let init_params = (method == "initialize").then(|| params.clone());
    let level = (method == "logging/setLevel")
        .then(|| {
            params
                .get("level")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
    let mut req = McpRequest::new(id.clone(), method.clone(), params)
        .with_era(era)
        .with_headers(parts.headers)
        .with_extensions(parts.extensions);
    req.extensions_mut().insert(hop);
    if !own {
        let notes = notes.map(|(notifier, notes)| {
            req.extensions_mut().insert(notifier);
            notes
        });
        let session = session.map(|(s, _)| s);
        // A legacy client may cancel the request by its id: the call is then dropped.
        let cancel = session
            .as_deref()
            .and_then(|s| Inflight::register(&config.inflight, s, &id_key(&id)));
        let call = inner.oneshot(req);
        let call = async move {
            let Some((_guard, cancelled)) = cancel else {
                return call.await;
            };
            tokio::select! {
                out = call => out,
                Ok(()) = cancelled => Err(Box::new(McpError::Cancelled) as BoxError),
            }
        };
        let end = relay::Ending {
            config: config.clone(),
            era,
            method,
            id: id.clone(),
            session,
        };
        return relay::answer(call, notes, end).await.map_err(fail);
    }
    match inner.oneshot(req).await {
        Err(e) => Err(fail(relay::rendered(era, &e))),
        Ok(_) if method == "initialize" => initialize(config, id, &init_params.unwrap_or_default()),
        Ok(_) if method == "server/discover" => Ok(render::result(
            id,
            relay::finish_modern(config, &method, config.discover_result()),
        )),
        Ok(_) if method == "logging/setLevel" => {
            let (Some(level), Some((session, _))) = (level, session) else {
                return Err(fail(bad(
                    StatusCode::OK,
                    ErrorObject::invalid_params("missing string `level`"),
                )));
            };
            config.log_levels.set(&session, &level);
            Ok(render::result(id, Map::new()))
        }
        // `ping`, the only other method the front answers itself.
        Ok(_) => Ok(render::result(id, Map::new())),
    }
}

/// What the client declared on its hop: from the request's `_meta` (modern), or from its
/// sealed session and `logging/setLevel` (legacy, where a client that set no level gets every
/// message, as a legacy server would send).
/// A request id as the client's `notifications/cancelled` names it: its JSON text.
fn id_key(id: &Id) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

fn client_hop(
    config: &FrontConfig,
    era: Era,
    params: &Map<String, Value>,
    session: Option<&(String, crate::session::SessionState)>,
) -> ClientHop {
    match (era, session) {
        (Era::Legacy, Some((id, state))) => {
            let level = config.log_levels.get(id).unwrap_or_else(|| "debug".into());
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

fn initialize(
    config: &FrontConfig,
    id: Id,
    params: &Map<String, Value>,
) -> Result<Response<ResponseBody>, Failure> {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = requested
        .filter(|v| LEGACY_VERSIONS.contains(v))
        .unwrap_or(LEGACY_VERSIONS[0]);
    let capabilities = params.get("capabilities").cloned().unwrap_or_default();
    let session = config
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
    result.insert("capabilities".into(), config.capabilities.clone());
    result.insert("serverInfo".into(), config.server_info());
    if let Some(i) = &config.instructions {
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
