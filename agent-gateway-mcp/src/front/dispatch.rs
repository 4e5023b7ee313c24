//! One request through the front: checks, decode once, era choice, then the inner service or
//! an answer of the front's own (`server/discover`, `initialize`, `ping`).

use std::sync::Arc;

use agent_gateway_core::body::{BodyError, read_limited};
use agent_gateway_core::jsonrpc::{ErrorObject, Id, Message, Request as RpcRequest};
use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::{Action, AgentRequest, BoxError};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::Front;
use super::admit;
use super::checks::{self, MCP_PROTOCOL_VERSION};
use super::lifecycle::{
    answer_client_request, client_hop, delete_session, id_key, initialize, notification, opened,
    session_not_found,
};
use super::render::{self, Failure, MCP_SESSION_ID, ResponseBody, bad};
use super::{listen, relay};
use crate::McpError;
use crate::era::{Era, LEGACY_VERSIONS};
use crate::error::Rendered;
use crate::method::McpMethod;
use crate::naming::FederatedTarget;
use crate::notify::Notifier;
use crate::request::ClientHop;
use crate::session::{Cancels, SessionBinding, SessionState};
use crate::{McpRequest, McpResponse};

pub(crate) async fn handle<S, B>(
    front: Arc<Front>,
    inner: S,
    mut req: Request<B>,
) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    // What the policy layers add goes on whatever answer is written, JSON, SSE or error,
    // as the answer's head is written (a stream's: what was known when it opened).
    let added = PolicyHeaders::attach(req.extensions_mut());
    let mut res = serve(front, inner, req).await;
    added.copy_to(res.headers_mut());
    res
}

async fn serve<S, B>(front: Arc<Front>, inner: S, req: Request<B>) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    if let Err(r) = checks::host_and_origin(&front.config, &parts.uri, &parts.headers) {
        return render::error(None, r, None);
    }
    match parts.method {
        Method::POST => {}
        Method::GET if front.config.legacy => return listen::get(front, inner, parts).await,
        Method::DELETE if front.config.legacy => {
            return delete_session(&front, inner, parts).await;
        }
        _ => return render::method_not_allowed(front.config.legacy),
    }
    let message = match read_message(&front, &parts.headers, body).await {
        Ok(m) => m,
        Err(res) => return res,
    };
    match message {
        Message::Request(r) => {
            let www = front.config.www_authenticate.clone();
            request(&front, inner, r, parts)
                .await
                .unwrap_or_else(|(id, rendered)| render::error(id, rendered, www.as_ref()))
        }
        Message::Notification(n) => notification(&front, inner, n, parts).await,
        Message::Response(res) => client_response(&front, inner, res, parts).await,
    }
}

/// The JSON-RPC message a POST carries, once its content type, `Accept` and size passed; or
/// the error answer.
async fn read_message<B>(
    front: &Front,
    headers: &HeaderMap,
    body: B,
) -> Result<Message, Response<ResponseBody>>
where
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    checks::content_type(headers)
        .and_then(|()| checks::accept(headers))
        .map_err(|r| render::error(None, r, None))?;
    let bytes = read_body(body, front.config.max_body, headers)
        .await
        .map_err(|r| render::error(None, r, None))?;
    Message::from_slice(&bytes).map_err(|e| {
        let res = e.to_response();
        let error = res
            .error_object()
            .cloned()
            .unwrap_or_else(ErrorObject::parse_error);
        render::error(res.id, bad(StatusCode::BAD_REQUEST, error), None)
    })
}

/// A client's POSTed response: the answer to a server→client request on its legacy session,
/// once the policy stack admitted it and its caller owns the session; refused otherwise.
async fn client_response<S>(
    front: &Front,
    inner: S,
    res: agent_gateway_core::jsonrpc::Response,
    parts: http::request::Parts,
) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError>,
{
    let session = match opened(front, &parts.headers) {
        Ok(session) => session,
        Err(()) => return session_not_found(None),
    };
    let (era, state) = match &session {
        Some((_, state)) => (Era::Legacy, Some(state)),
        None => (Era::Modern, None),
    };
    let method = McpMethod::ClientAnswer;
    if let Err(r) = admit::admit(inner, method, Map::new(), era, state, parts).await {
        return render::error(None, r, front.config.www_authenticate.as_ref());
    }
    let Some((session, _)) = session else {
        return render::error(
            None,
            bad(
                StatusCode::BAD_REQUEST,
                ErrorObject::invalid_request("Clients must not POST responses"),
            ),
            None,
        );
    };
    answer_client_request(front, &session, res);
    render::empty(StatusCode::ACCEPTED)
}

async fn read_body<B>(body: B, max: usize, headers: &HeaderMap) -> Result<bytes::Bytes, Rendered>
where
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    read_limited(body, max, headers).await.map_err(|e| {
        let message = match e {
            BodyError::TooLarge { .. } => "Payload Too Large",
            _ => "Request body could not be read",
        };
        bad(e.http_status(), ErrorObject::invalid_request(message))
    })
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

/// A legacy session the request came on: its id and its opened state.
type Session = (String, SessionState);

/// One decoded request, as the steps below pass it on.
struct Decoded {
    id: Id,
    method: McpMethod,
    params: Map<String, Value>,
    era: Era,
    session: Option<Session>,
}

/// A request: decode its params, settle its era and session, then serve it (a listen, a
/// forwarded method, or one the front answers itself after the inner service admits it).
async fn request<S>(
    front: &Arc<Front>,
    inner: S,
    r: RpcRequest,
    parts: http::request::Parts,
) -> Result<Response<ResponseBody>, Failure>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let id = r.id.clone();
    let fail = |rendered: Rendered| (Some(id.clone()), rendered);
    let params = params_of(&r).map_err(fail)?;
    let method = McpMethod::from(r.method);
    let era = era_of(front, &method, &params, &parts.headers);
    let session = match era_session(front, &method, &params, era, &parts.headers) {
        Ok(session) => session,
        Err(Refusal::Rendered(r)) => return Err(fail(r)),
        Err(Refusal::NotFound) => return Ok(session_not_found(Some(id))),
    };
    if listen::handles(&method, era) {
        let state = session.map(|(_, state)| state);
        return listen::request(front, inner, id.clone(), method, params, era, state, parts)
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
    let decoded = Decoded {
        id,
        method,
        params,
        era,
        session,
    };
    // Every request goes through the inner service, the user's policy stack included. For the
    // methods the front answers itself, that call is the admission check: an error refuses the
    // request (an unauthenticated `initialize` is a 401 like any other), and the front then
    // writes the answer.
    if own {
        answer_own(front, inner, decoded, parts).await
    } else {
        forward(front, inner, decoded, parts).await
    }
}

/// The request's params: an object, or none.
fn params_of(r: &RpcRequest) -> Result<Map<String, Value>, Rendered> {
    match r
        .params
        .as_deref()
        .map(|raw| serde_json::from_str(raw.get()))
    {
        None => Ok(Map::new()),
        Some(Ok(Value::Object(m))) => Ok(m),
        Some(_) => Err(bad(
            StatusCode::BAD_REQUEST,
            ErrorObject::invalid_params("params must be an object"),
        )),
    }
}

/// Why a request's era or session refuses it.
enum Refusal {
    Rendered(Rendered),
    /// A legacy session id that is forged, tampered, expired or ended.
    NotFound,
}

/// Checks the request for its era: a modern request's `_meta` and mirrored headers, or a
/// legacy request's session (opened here) and version header.
fn era_session(
    front: &Front,
    method: &McpMethod,
    params: &Map<String, Value>,
    era: Era,
    headers: &HeaderMap,
) -> Result<Option<Session>, Refusal> {
    let missing_session = || {
        Refusal::Rendered(bad(
            StatusCode::BAD_REQUEST,
            ErrorObject::invalid_request("Bad Request: missing Mcp-Session-Id"),
        ))
    };
    match era {
        // What a legacy-only server answers; an era probe reads it as "legacy".
        Era::Modern if !front.config.modern => Err(missing_session()),
        Era::Modern => checks::modern(headers, method, params)
            .map(|()| None)
            .map_err(Refusal::Rendered),
        Era::Legacy if *method == McpMethod::Initialize => Ok(None),
        Era::Legacy => {
            let header = headers.get(MCP_SESSION_ID).ok_or_else(missing_session)?;
            let opened = header
                .to_str()
                .ok()
                .and_then(|s| front.session(s).map(|state| (s.to_owned(), state)))
                .ok_or(Refusal::NotFound)?;
            if let Some(v) = headers.get(MCP_PROTOCOL_VERSION)
                && !v.to_str().is_ok_and(|v| LEGACY_VERSIONS.contains(&v))
            {
                return Err(Refusal::Rendered(bad(
                    StatusCode::BAD_REQUEST,
                    ErrorObject::invalid_request("Bad Request: unsupported MCP-Protocol-Version"),
                )));
            }
            Ok(Some(opened))
        }
    }
}

/// The request as the inner service sees it: its client hop, its session binding (a legacy
/// `initialize`, or a request on a session) and HTTP context. Takes the params out of `d`.
fn inner_request(
    front: &Front,
    d: &mut Decoded,
    own: bool,
    parts: http::request::Parts,
) -> (McpRequest, Option<SessionBinding>) {
    let hop = client_hop(front, d.era, &d.params, d.session.as_ref());
    let params = std::mem::take(&mut d.params);
    let mut req = McpRequest::new(d.id.clone(), d.method.clone(), params)
        .with_era(d.era)
        .with_admission_only(own)
        .with_headers(parts.headers)
        .with_extensions(parts.extensions);
    req.extensions_mut().insert(hop);
    let binding = match (&d.session, d.era) {
        (Some((_, state)), _) => Some(SessionBinding::on(state.owner())),
        (None, Era::Legacy) if d.method == McpMethod::Initialize => Some(SessionBinding::opening()),
        _ => None,
    };
    if let Some(b) = &binding {
        req.extensions_mut().insert(b.clone());
    }
    let federated = front
        .config
        .naming
        .as_ref()
        // A tool or prompt name (a completion's prompt reference included), not a URI.
        .filter(|_| matches!(req.action(), Action::ToolCall | Action::GetPrompt))
        .zip(req.target())
        .and_then(|(naming, target)| FederatedTarget::split(naming, target));
    if let Some(target) = federated {
        req.extensions_mut().insert(target);
    }
    (req, binding)
}

/// A forwarded method: through the inner service to an upstream, the answer relayed as JSON
/// or as SSE (progress, logs and server→client requests before the result).
async fn forward<S>(
    front: &Arc<Front>,
    inner: S,
    mut d: Decoded,
    parts: http::request::Parts,
) -> Result<Response<ResponseBody>, Failure>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Send + 'static,
    S::Future: Send,
{
    let sse = checks::accepts_sse(&parts.headers);
    let token = d
        .params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .cloned();
    let (mut req, _) = inner_request(front, &mut d, false, parts);
    let notes = sse.then(|| {
        let level = req
            .extensions()
            .get::<ClientHop>()
            .and_then(ClientHop::log_level);
        let (notifier, notes) = Notifier::channel(token);
        let notifier = notifier.with_log_level(level);
        // Only a legacy client, on the stream of its own request, can be sent requests.
        let notifier = match d.era {
            Era::Legacy if d.session.is_some() => notifier.with_requests(),
            _ => notifier,
        };
        req.extensions_mut().insert(notifier);
        notes
    });
    let session = d.session.map(|(s, _)| s);
    // A legacy client may cancel the request by its id: the call is then dropped.
    let cancel = session
        .as_deref()
        .and_then(|s| Cancels::register(&front.store.cancels, s, &id_key(&d.id)));
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
    let id = d.id.clone();
    let end = relay::Ending {
        front: front.clone(),
        era: d.era,
        method: d.method,
        id: d.id,
        session,
    };
    relay::answer(call, notes, end)
        .await
        .map_err(|r| (Some(id), r))
}

/// A method the front answers itself, once the inner service admitted it.
async fn answer_own<S>(
    front: &Arc<Front>,
    inner: S,
    mut d: Decoded,
    parts: http::request::Parts,
) -> Result<Response<ResponseBody>, Failure>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Send + 'static,
    S::Future: Send,
{
    let id = d.id.clone();
    let fail = |rendered: Rendered| (Some(id.clone()), rendered);
    let init_params = (d.method == McpMethod::Initialize).then(|| d.params.clone());
    let level = (d.method == McpMethod::LoggingSetLevel)
        .then(|| {
            d.params
                .get("level")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
    let fallback = admit::http_caller(&parts);
    let (req, binding) = inner_request(front, &mut d, true, parts);
    if let Err(e) = inner.oneshot(req).await {
        return Err(fail(render::rendered(d.era, &e)));
    }
    // The caller the policy stack admitted owns the session it opens, and must own the one it
    // acts on.
    let owner = binding
        .as_ref()
        .and_then(SessionBinding::seen)
        .unwrap_or(fallback);
    if binding.is_some_and(|b| !b.owned_by_caller(fallback)) {
        return Err(fail(admit::not_found()));
    }
    match d.method {
        McpMethod::Initialize => initialize(front, d.id, &init_params.unwrap_or_default(), owner),
        McpMethod::ServerDiscover => Ok(render::result(
            d.id,
            render::finish_modern(front, &d.method, front.config.discover_result()),
        )),
        McpMethod::LoggingSetLevel => {
            let (Some(level), Some((session, state))) = (level, d.session) else {
                return Err(fail(bad(
                    StatusCode::OK,
                    ErrorObject::invalid_params("missing string `level`"),
                )));
            };
            let owner = crate::session::session_owner(&state, &session);
            front.store.log_levels.set(&session, owner, &level);
            Ok(render::result(d.id, Map::new()))
        }
        // `ping`, the only other method the front answers itself.
        _ => Ok(render::result(d.id, Map::new())),
    }
}
