//! Notification streams at the front: the modern `subscriptions/listen` request, the legacy
//! GET stream, and legacy `resources/subscribe` / `resources/unsubscribe`.
//!
//! Each goes through the inner service like any request, so the user's policy stack admits
//! it (an error before the stream opens is answered as a plain JSON-RPC error). The inner
//! service sees one `subscriptions/listen` request with a listen
//! [`Notifier`](crate::notify::Notifier) in its extensions; see [`crate::listen`].
//!
//! A GET stream asks the inner service for the three list-changed notifications and for the
//! updates of the URIs its session subscribed to. `resources/subscribe` is passed to the inner
//! service first (the federation refuses a URI no upstream owns with -32602), then recorded
//! for the session; a GET stream that is open then starts its inner listen again with the new
//! set, which goes through the policy stack again. A session has one GET stream at a time: a
//! new one ends the one before, once an admission-only `subscriptions/listen` showed the policy
//! stack admits it and its caller owns the session (so another caller cannot end it).

use std::sync::Arc;

use agent_gateway_core::jsonrpc::{ErrorObject, Id};
use agent_gateway_core::{AgentRequest, BoxError};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::Front;
use super::admit::admit;
use super::checks::{self, MCP_PROTOCOL_VERSION};
use super::render::rendered;
use super::render::{self, MCP_SESSION_ID, ResponseBody};
use super::stream::{self, Call, EventIds, Framing, Restart, Rewatch, changed, with_uris};
use crate::era::{Era, LEGACY_VERSIONS};
use crate::error::Rendered;
use crate::listen::{LISTEN, ListenFilter};
use crate::method::McpMethod;
use crate::notify::Notifier;
use crate::session::{SessionBinding, SessionState, session_owner};
use crate::{McpError, McpRequest, McpResponse};

/// The JSON-RPC id of the listen request a GET stream makes of the inner service.
const GET_STREAM_ID: &str = "get-stream";

/// Whether this module serves `method` in `era`.
pub(crate) fn handles(method: &McpMethod, era: Era) -> bool {
    matches!(
        (method, era),
        (McpMethod::SubscriptionsListen, Era::Modern)
            | (
                McpMethod::ResourcesSubscribe | McpMethod::ResourcesUnsubscribe,
                Era::Legacy
            )
    )
}

fn invalid(detail: &str) -> Rendered {
    Rendered::from_error(&McpError::InvalidParams(detail.to_owned()))
}

/// A request [`handles`] says is ours, its session (legacy, opened as `state`) and headers
/// already checked.
#[allow(clippy::too_many_arguments)] // the decoded request, as dispatch holds it
pub(crate) async fn request<S>(
    front: &Arc<Front>,
    inner: S,
    id: Id,
    method: McpMethod,
    params: Map<String, Value>,
    era: Era,
    state: Option<SessionState>,
    parts: Parts,
) -> Result<Response<ResponseBody>, Rendered>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let session = parts
        .headers
        .get(MCP_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if method == McpMethod::SubscriptionsListen {
        // Made first, so the filter holds the normalised URIs the rules will see.
        let mut req = McpRequest::new(id.clone(), method, params)
            .with_era(era)
            .with_headers(parts.headers)
            .with_extensions(parts.extensions);
        let filter =
            ListenFilter::from_params(req.params()).map_err(|e| Rendered::from_error(&e))?;
        admit_resources(inner.clone(), &req, &filter).await?;
        // The client's capabilities and the log level it opted in to for this stream.
        let hop = super::lifecycle::client_hop(front, Era::Modern, req.params(), None);
        let (notifier, notes) = Notifier::listen(filter.clone());
        let notifier = notifier.with_log_level(hop.log_level());
        req.extensions_mut().insert(notifier);
        req.extensions_mut().insert(hop);
        let call: Call = Box::pin(inner.oneshot(req));
        let framing = Framing::Modern {
            id,
            filter,
            front: front.clone(),
            acked: false,
        };
        return stream::open(call, notes, framing, None).await;
    }
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing string `uri`"))?
        .to_owned();
    let subscribe = method == McpMethod::ResourcesSubscribe;
    let mut req = McpRequest::new(id.clone(), method, params)
        .with_era(era)
        .with_headers(parts.headers)
        .with_extensions(parts.extensions);
    // Recorded in the client's form, normalised as the rules saw it.
    let uri = req.target().map_or(uri, str::to_owned);
    let session = session.unwrap_or_default();
    let state = state.ok_or_else(|| invalid("session not found"))?;
    req.extensions_mut()
        .insert(SessionBinding::on(state.owner()));
    if subscribe {
        // Too long to keep, or past the caller's share: refused before the upstream is asked,
        // so that no subscription is left upstream that the gateway would not record.
        let bounds = &front.store.limits().subscriptions;
        let now = front.config.sealer.now();
        let owner = session_owner(&state, &session);
        front
            .store
            .subscriptions
            .room(&session, owner, now, &uri)
            .map_err(|r| invalid(&r.detail(bounds)))?;
    }
    inner.oneshot(req).await.map_err(|e| rendered(era, &e))?;
    if subscribe {
        let now = front.config.sealer.now();
        let owner = session_owner(&state, &session);
        front
            .store
            .subscriptions
            .subscribe(&session, owner, state.expires_at(), now, &uri)
            .map_err(|r| invalid(&r.detail(&front.store.limits().subscriptions)))?;
    } else {
        front.store.subscriptions.unsubscribe(&session, &uri);
    }
    Ok(render::result(id, Map::new()))
}

/// Admits each resource URI of a listen's `filter` as a read of its own (an admission-only
/// `resources/subscribe`, action `ReadResource`, with `listen`'s caller and headers): a rule
/// denying any one of them refuses the whole listen.
async fn admit_resources<S>(
    inner: S,
    listen: &McpRequest,
    filter: &ListenFilter,
) -> Result<(), Rendered>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone,
{
    for uri in filter.resource_uris() {
        let params = Map::from_iter([("uri".to_owned(), Value::String(uri.to_owned()))]);
        let probe = McpRequest::new(listen.id().clone(), McpMethod::ResourcesSubscribe, params)
            .with_era(listen.era())
            .with_admission_only(true)
            .with_headers(listen.headers().clone())
            .with_extensions(listen.extensions().clone());
        inner
            .clone()
            .oneshot(probe)
            .await
            .map_err(|e| rendered(listen.era(), &e))?;
    }
    Ok(())
}

/// A legacy session's GET stream.
pub(crate) async fn get<S>(front: Arc<Front>, inner: S, parts: Parts) -> Response<ResponseBody>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let www = front.config.www_authenticate.clone();
    get_stream(&front, inner, parts)
        .await
        .unwrap_or_else(|r| render::error(None, r, www.as_ref()))
}

async fn get_stream<S>(
    front: &Arc<Front>,
    inner: S,
    parts: Parts,
) -> Result<Response<ResponseBody>, Rendered>
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let (session, state) = admit_get(front, &parts.headers)?;
    // A client resuming a broken legacy answer gets the rest of it, once the policy stack
    // admitted the resumption and its caller owns the session.
    if let Some(last) = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        && let Some((recording, seq)) = front.store.resumable.find(&session, last)
    {
        let method = McpMethod::StreamResume;
        let parts = parts.clone();
        admit(inner, method, Map::new(), Era::Legacy, Some(&state), parts).await?;
        return Ok(crate::session::resume::replay(recording, seq));
    }
    // Admitted, and from the session's owner, before it takes the session's one stream (a new
    // stream ends the one before): another caller must not end the owner's stream.
    let lists = ListenFilter::all_lists().to_params();
    let method = McpMethod::SubscriptionsListen;
    admit(
        inner.clone(),
        method,
        lists,
        Era::Legacy,
        Some(&state),
        parts.clone(),
    )
    .await?;
    // Every listen the stream makes (and makes again) is bound to the session's owner, and
    // made as the session's client (its capabilities, its log level, its upstream sessions).
    let mut parts = parts;
    parts.extensions.insert(SessionBinding::on(state.owner()));
    let hop = super::lifecycle::client_hop(
        front,
        Era::Legacy,
        &Map::new(),
        Some(&(session.clone(), state.clone())),
    )
    // Every level from the upstreams: the stream keeps those at the session's level as it is
    // when each message comes.
    .with_log_level(Some("debug".into()));
    parts.extensions.insert(hop);
    let now = front.config.sealer.now();
    let changes = front.store.subscriptions.open_stream(
        &session,
        session_owner(&state, &session),
        state.expires_at(),
        now,
    );
    let uris = changes
        .as_ref()
        .map(|(rx, _)| rx.borrow().uris.clone())
        .unwrap_or_default();
    let base = ListenFilter::all_lists();
    let mut restart = restarter(inner, parts);
    let (call, notes) = restart(with_uris(&base, &uris));
    let rewatch = changes.map(|(rx, stream)| Rewatch {
        restart,
        base,
        stream,
        changes: changed(rx),
    });
    let framing = Framing::Legacy {
        ids: EventIds::new(),
        session: Some((front.clone(), session)),
    };
    stream::open(call, notes, framing, rewatch).await
}

/// The session a GET stream is for, once the request passed the checks: it accepts SSE,
/// names a live session, and speaks a legacy version.
fn admit_get(front: &Front, headers: &HeaderMap) -> Result<(String, SessionState), Rendered> {
    let reject = |status, message: &'static str| {
        Rendered::new(status, ErrorObject::invalid_request(message))
    };
    if !checks::accepts_sse(headers) {
        return Err(reject(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: Accept must include text/event-stream",
        ));
    }
    let Some(session) = headers.get(MCP_SESSION_ID) else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "Bad Request: missing Mcp-Session-Id",
        ));
    };
    let session = session.to_str().unwrap_or_default().to_owned();
    let Some(state) = front.session(&session) else {
        return Err(reject(StatusCode::NOT_FOUND, "Session not found"));
    };
    if let Some(v) = headers.get(MCP_PROTOCOL_VERSION)
        && !v.to_str().is_ok_and(|v| LEGACY_VERSIONS.contains(&v))
    {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "Bad Request: unsupported MCP-Protocol-Version",
        ));
    }
    Ok((session, state))
}

/// Starts the stream's inner listen with a filter, as the GET that opened it.
fn restarter<S>(inner: S, parts: Parts) -> Restart
where
    S: Service<McpRequest, Response = McpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let (headers, extensions) = (parts.headers, parts.extensions);
    Box::new(move |filter: ListenFilter| {
        // Every log message: the stream keeps those at the session's level as it is when each
        // comes (`logging/setLevel` may change it while the stream is open).
        let (notifier, notes) = Notifier::listen(filter.clone());
        let notifier = notifier.with_log_level(Some("debug"));
        let mut req = McpRequest::new(GET_STREAM_ID, LISTEN, filter.to_params())
            .with_era(Era::Legacy)
            .with_headers(headers.clone())
            .with_extensions(extensions.clone());
        req.extensions_mut().insert(notifier);
        let call: Call = Box::pin(inner.clone().oneshot(req));
        (call, notes)
    })
}
