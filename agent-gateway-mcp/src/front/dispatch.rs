//! One request through the front: checks, decode once, era choice, then the inner service or
//! an answer of the front's own (`server/discover`, `initialize`, `ping`).

use std::sync::Arc;

use agent_gateway_core::jsonrpc::{ErrorObject, Id, Message, Request as RpcRequest};
use agent_gateway_core::{AgentRequest, BoxError};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::Front;
use super::checks::{self, MCP_PROTOCOL_VERSION};
use super::lifecycle::{
    answer_client_request, client_hop, delete_session, id_key, initialize, notification,
    session_not_found,
};
use super::render::{self, MCP_SESSION_ID, ResponseBody};
use super::{listen, relay};
use crate::McpError;
use crate::era::{Era, LEGACY_VERSIONS};
use crate::error::Rendered;
use crate::method::McpMethod;
use crate::notify::Notifier;
use crate::session::Cancels;
use crate::{McpRequest, McpResponse};

pub(super) fn bad(status: StatusCode, error: ErrorObject) -> Rendered {
    Rendered::new(status, error)
}

pub(crate) async fn handle<S, B>(
    front: Arc<Front>,
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
    if let Err(r) = checks::origin(&front.config, &parts.headers)
        .and_then(|()| checks::host(&front.config, &parts.headers))
    {
        return render::error(None, r, None);
    }
    match parts.method {
        Method::POST => {}
        Method::GET if front.config.legacy => return listen::get(front, inner, parts).await,
        Method::DELETE if front.config.legacy => return delete_session(&front, &parts.headers),
        _ => return render::method_not_allowed(front.config.legacy),
    }
    if let Err(r) =
        checks::content_type(&parts.headers).and_then(|()| checks::accept(&parts.headers))
    {
        return render::error(None, r, None);
    }
    let bytes = match read_body(body, front.config.max_body, &parts.headers).await {
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
            let www = front.config.www_authenticate.clone();
            request(&front, inner, r, parts)
                .await
                .unwrap_or_else(|(id, rendered)| render::error(id, rendered, www.as_ref()))
        }
        Message::Notification(n) => notification(&front, &parts.headers, &n),
        Message::Response(res) => {
            let session = parts
                .headers
                .get(MCP_SESSION_ID)
                .and_then(|v| v.to_str().ok())
                .filter(|id| front.config.legacy && front.session(id).is_some());
            if let Some(session) = session {
                answer_client_request(&front, session, res);
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

fn era_of(
    front: &Front,
    method: &McpMethod,
    params: &Map<String, Value>,
    headers: &HeaderMap,
) -> Era {
    if !front.config.legacy || checks::meta_version(params).is_some() {
        return Era::Modern;
    }
    let legacy_header = headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| LEGACY_VERSIONS.contains(&v));
    if *method == McpMethod::Initialize || headers.contains_key(MCP_SESSION_ID) || legacy_header {
        Era::Legacy
    } else {
        Era::Modern
    }
}

pub(super) type Failure = (Option<Id>, Rendered);

async fn request<S>(
    front: &Arc<Front>,
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
    let method = McpMethod::from(r.method);
    let era = era_of(front, &method, &params, &parts.headers);
    let mut session: Option<(String, crate::session::SessionState)> = None;
    match era {
        Era::Modern if !front.config.modern => {
            // What a legacy-only server answers; an era probe reads it as "legacy".
            return Err(fail(bad(
                StatusCode::BAD_REQUEST,
                ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
            )));
        }
        Era::Modern => checks::modern(&parts.headers, &method, &params).map_err(fail)?,
        Era::Legacy if method == McpMethod::Initialize => {}
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
                .and_then(|s| front.session(s).map(|state| (s.to_owned(), state)));
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
        return listen::request(front, inner, id.clone(), method, params, era, parts)
            .await
            .map_err(fail);
    }
    let own = method.is_admission_only(era);
    if !own && !method.is_forwarded() {
        let status = if era == Era::Modern {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        return Err(fail(bad(
            status,
            ErrorObject::method_not_found(method.as_str()),
        )));
    }
    // Every request goes through the inner service, the user's policy stack included. For the
    // methods the front answers itself, that call is the admission check: an error refuses the
    // request (an unauthenticated `initialize` is a 401 like any other), and the front then
    // writes the answer.
    let hop = client_hop(front, era, &params, session.as_ref());
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
    let init_params = (method == McpMethod::Initialize).then(|| params.clone());
    let level = (method == McpMethod::LoggingSetLevel)
        .then(|| {
            params
                .get("level")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
    let mut req = McpRequest::new(id.clone(), method.clone(), params)
        .with_era(era)
        .with_admission_only(own)
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
            .and_then(|s| Cancels::register(&front.store.cancels, s, &id_key(&id)));
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
            front: front.clone(),
            era,
            method,
            id: id.clone(),
            session,
        };
        return relay::answer(call, notes, end).await.map_err(fail);
    }
    match inner.oneshot(req).await {
        Err(e) => Err(fail(relay::rendered(era, &e))),
        Ok(_) if method == McpMethod::Initialize => {
            initialize(front, id, &init_params.unwrap_or_default())
        }
        Ok(_) if method == McpMethod::ServerDiscover => Ok(render::result(
            id,
            relay::finish_modern(front, &method, front.config.discover_result()),
        )),
        Ok(_) if method == McpMethod::LoggingSetLevel => {
            let (Some(level), Some((session, _))) = (level, session) else {
                return Err(fail(bad(
                    StatusCode::OK,
                    ErrorObject::invalid_params("missing string `level`"),
                )));
            };
            front.store.log_levels.set(&session, &level);
            Ok(render::result(id, Map::new()))
        }
        // `ping`, the only other method the front answers itself.
        Ok(_) => Ok(render::result(id, Map::new())),
    }
}
