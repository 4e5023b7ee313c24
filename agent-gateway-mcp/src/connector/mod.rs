//! The streamable-HTTP upstream connector: sends [`UpstreamRequest`]s to one MCP server over
//! any HTTP client service, in the server's era.
//!
//! The era is probed once and cached: a modern request goes first; a result, or a 400 carrying
//! a modern error (-32020/-32021/-32022) or a 404 carrying -32601, means modern. Anything else
//! means legacy: the connector runs `initialize`, keeps the session and re-initializes once if
//! the server forgets it (404). The upstream's credential is configured here; nothing from
//! the client's request reaches the upstream, since an [`UpstreamRequest`] carries no headers.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::connector::HttpUpstream;
//! use agent_gateway_mcp::front::FrontConfig;
//! use agent_gateway_mcp::testkit::FakeMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::Era;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! // A legacy-only server, in-process over HTTP.
//! let fake = FakeMcpServer::new().with_echo_tool("echo");
//! let http = fake.http(FrontConfig::new("old", "1").unwrap().with_modern(false));
//! let upstream = HttpUpstream::new(http, "http://old.test/mcp".parse().unwrap());
//! let list = upstream.clone().oneshot(UpstreamRequest::new("tools/list", Map::new())).await.unwrap();
//! assert_eq!(list["tools"][0]["name"], "echo");
//! assert_eq!(upstream.era().await, Some(Era::Legacy));
//!
//! // The server's own error comes back as an error.
//! let params = json!({"name": "missing"}).as_object().cloned().unwrap();
//! assert!(upstream.oneshot(UpstreamRequest::new("tools/call", params)).await.is_err());
//! # });
//! ```

mod listen;
#[cfg(test)]
mod tests;
mod wire;

pub mod sse;
pub use sse::SseUpstream;
pub(crate) use wire::mirrored;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::jsonrpc::{ErrorObject, Message, Notification, Request as RpcRequest};
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tower::Service;

use crate::era::{
    Era, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL,
    META_PROTOCOL_VERSION, MODERN_VERSION,
};
use crate::error::{CODE_HEADER_MISMATCH, CODE_MISSING_CAPABILITY, CODE_UNSUPPORTED_VERSION};
use crate::notify::Notifier;
use crate::request::ClientHop;
use crate::upstream::UpstreamRequest;
use wire::{Answer, post};

/// Why the connector failed, apart from the upstream's own JSON-RPC errors.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The upstream answered with this status and no response to the request.
    #[error("upstream answered HTTP {0} with no JSON-RPC response")]
    Status(StatusCode),
    /// The upstream's answer is over the size limit.
    #[error("upstream answer too large")]
    TooLarge,
    /// A legacy upstream's `initialize` failed or named no version we speak.
    #[error("upstream initialize failed")]
    Initialize,
}

/// One legacy upstream session: its id (servers may issue none), the negotiated version, and
/// when it was last used.
#[derive(Debug, Clone)]
struct Session {
    id: Option<HeaderValue>,
    version: String,
    used: Instant,
}

#[derive(Debug, Default)]
struct State {
    era: Option<Era>,
    /// Legacy sessions, one per client session (`Some(key)`), plus one shared by clients that
    /// have none (`None`: modern clients).
    sessions: HashMap<Option<Arc<str>>, Session>,
}

/// How long an unused legacy upstream session is kept by default.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(600);

/// How many legacy upstream sessions one upstream keeps at most by default.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;

struct Shared {
    uri: Uri,
    authorization: Option<Secret<HeaderValue>>,
    fixed: Option<Era>,
    idle: Duration,
    max_sessions: usize,
    next_id: AtomicU64,
    state: Mutex<State>,
    listen: listen::HubSlot,
}

/// Cloning the shared part copies the configuration and starts a fresh connection state (era
/// probe, legacy session): what a builder call on a clone needs, so that it never silently
/// changes nothing.
impl Clone for Shared {
    fn clone(&self) -> Self {
        Shared {
            uri: self.uri.clone(),
            authorization: self.authorization.clone(),
            fixed: self.fixed,
            idle: self.idle,
            max_sessions: self.max_sessions,
            next_id: AtomicU64::new(1),
            state: Mutex::new(State::default()),
            listen: listen::HubSlot::default(),
        }
    }
}

/// A streamable-HTTP MCP upstream: `Service<UpstreamRequest>` over the HTTP client `C`.
pub struct HttpUpstream<C> {
    client: C,
    shared: Arc<Shared>,
}

impl<C: Clone> Clone for HttpUpstream<C> {
    fn clone(&self) -> Self {
        HttpUpstream {
            client: self.client.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<C> fmt::Debug for HttpUpstream<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpUpstream")
            .field("uri", &self.shared.uri)
            .field("authorization", &self.shared.authorization)
            .field("era", &self.shared.fixed)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "client")]
impl HttpUpstream<agent_gateway_core::client::HttpClient<Full<Bytes>>> {
    /// An upstream at `uri` over core's rustls HTTP client.
    pub fn connect(uri: Uri) -> Self {
        HttpUpstream::new(agent_gateway_core::client::http_client(), uri)
    }
}

impl<C> HttpUpstream<C> {
    /// An upstream at `uri`, reached through `client`, era probed on first use.
    pub fn new(client: C, uri: Uri) -> Self {
        HttpUpstream {
            client,
            shared: Arc::new(Shared {
                uri,
                authorization: None,
                fixed: None,
                idle: DEFAULT_SESSION_IDLE,
                max_sessions: DEFAULT_MAX_SESSIONS,
                next_id: AtomicU64::new(1),
                state: Mutex::new(State::default()),
                listen: listen::HubSlot::default(),
            }),
        }
    }

    /// The configuration, for a builder call. On a clone this detaches from the others, with
    /// the configuration copied and a fresh connection state.
    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// Sends `Authorization: <value>` (for example `Bearer <token>`) to this upstream: its own
    /// credential, never the client's.
    pub fn with_authorization(mut self, value: Secret<HeaderValue>) -> Self {
        self.shared_mut().authorization = Some(value);
        self
    }

    /// Speaks `era` without probing.
    pub fn with_era(mut self, era: Era) -> Self {
        self.shared_mut().fixed = Some(era);
        self
    }

    /// Keeps an unused legacy session `idle` long (default 10 minutes) and at most `max` of
    /// them (default 1024; the least recently used goes first). A legacy upstream gets one
    /// session per client session, opened with that client's capabilities so that its
    /// requests to the client are routed back to the right one, plus one shared session for
    /// clients without one.
    pub fn with_sessions(mut self, idle: Duration, max: usize) -> Self {
        let shared = self.shared_mut();
        shared.idle = idle;
        shared.max_sessions = max.max(1);
        self
    }

    /// The number of legacy sessions open now.
    pub async fn open_sessions(&self) -> usize {
        self.shared.state.lock().await.sessions.len()
    }

    /// The era in use, once known.
    pub async fn era(&self) -> Option<Era> {
        self.shared.fixed.or(self.shared.state.lock().await.era)
    }
}

impl<C, B> Service<UpstreamRequest> for HttpUpstream<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Map<String, Value>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let this = self.clone();
        if req.method() == crate::listen::LISTEN {
            return Box::pin(async move { this.listen(req).await });
        }
        Box::pin(async move { this.send(req).await })
    }
}

/// Runs its action (telling a legacy upstream of a cancellation) when dropped armed.
struct CancelOnDrop(Option<Box<dyn FnOnce() + Send>>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}

fn modern_error(answer: &Answer) -> bool {
    match &answer.outcome {
        Some(Ok(_)) => answer.status.is_success(),
        Some(Err(e)) => match answer.status {
            StatusCode::OK => true,
            StatusCode::BAD_REQUEST => [
                CODE_HEADER_MISMATCH,
                CODE_MISSING_CAPABILITY,
                CODE_UNSUPPORTED_VERSION,
            ]
            .contains(&e.code),
            StatusCode::NOT_FOUND => e.code == ErrorObject::METHOD_NOT_FOUND,
            _ => false,
        },
        None => false,
    }
}

impl<C, B> HttpUpstream<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn next_id(&self) -> i64 {
        i64::try_from(self.shared.next_id.fetch_add(1, Ordering::Relaxed)).unwrap_or(0)
    }

    async fn send(&self, req: UpstreamRequest) -> Result<Map<String, Value>, BoxError> {
        let era = match self.shared.fixed {
            Some(e) => Some(e),
            None => self.shared.state.lock().await.era,
        };
        match era {
            Some(Era::Modern) => self.modern(req).await?.into_result(),
            Some(_) => self.legacy(req).await,
            None => {
                let answer = self.modern(req.clone()).await?;
                if modern_error(&answer) {
                    self.shared.state.lock().await.era = Some(Era::Modern);
                    return answer.into_result();
                }
                if answer.status.is_server_error() || answer.status == StatusCode::UNAUTHORIZED {
                    // Not an era answer: do not cache anything.
                    return answer.into_result();
                }
                self.shared.state.lock().await.era = Some(Era::Legacy);
                self.legacy(req).await
            }
        }
    }

    async fn modern(&self, req: UpstreamRequest) -> Result<Answer, BoxError> {
        let notifier = req.notifier().cloned();
        let client = req.client().cloned().unwrap_or_default();
        let param_headers = req.param_headers().to_vec();
        let (method, mut params) = req.into_parts();
        let mut headers = HeaderMap::new();
        headers.insert(
            "mcp-protocol-version",
            HeaderValue::from_static(MODERN_VERSION),
        );
        if let Some(m) = mirrored(&method) {
            headers.insert("mcp-method", m);
        }
        let key = match method.as_str() {
            "tools/call" | "prompts/get" => Some("name"),
            "resources/read" => Some("uri"),
            _ => None,
        };
        if let Some(v) = key
            .and_then(|k| params.get(k))
            .and_then(Value::as_str)
            .and_then(mirrored)
        {
            headers.insert("mcp-name", v);
        }
        for (name, value) in param_headers {
            headers.append(name, value);
        }
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert(META_PROTOCOL_VERSION.into(), json!(MODERN_VERSION));
            // The client's own capabilities: the upstream must not ask for input the client
            // cannot give (the gateway relays what it asks).
            meta.insert(
                META_CLIENT_CAPABILITIES.into(),
                client.capabilities().clone(),
            );
            if let Some(level) = client.log_level() {
                meta.insert(META_LOG_LEVEL.into(), json!(level));
            }
            meta.insert(
                META_CLIENT_INFO.into(),
                json!({"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")}),
            );
        }
        let msg = Message::from(RpcRequest::new(self.next_id(), method).with_params(&params)?);
        self.post(headers, &msg, notifier.as_ref()).await
    }

    async fn post(
        &self,
        headers: HeaderMap,
        msg: &Message,
        notifier: Option<&Notifier>,
    ) -> Result<Answer, BoxError> {
        let auth = self.shared.authorization.as_ref().map(Secret::expose);
        post(
            self.client.clone(),
            &self.shared.uri,
            auth,
            headers,
            msg,
            notifier,
        )
        .await
    }

    async fn legacy(&self, req: UpstreamRequest) -> Result<Map<String, Value>, BoxError> {
        let client = req.client().cloned().unwrap_or_default();
        for attempt in 0..2 {
            let (session, version) = self.session(attempt > 0, &client).await?;
            let mut headers = HeaderMap::new();
            let had_session = session.is_some();
            if let Some(session) = session {
                headers.insert("mcp-session-id", session);
            }
            if let Ok(v) = HeaderValue::from_str(&version) {
                headers.insert("mcp-protocol-version", v);
            }
            let (method, params) = req.clone().into_parts();
            let id = self.next_id();
            let msg = Message::from(RpcRequest::new(id, method).with_params(&params)?);
            // Dropped before the answer (the client cancelled or left): tell the upstream.
            let guard = self.cancel_on_drop(headers.clone(), id);
            let answer = self.post(headers, &msg, req.notifier()).await;
            guard.disarm();
            let answer = answer?;
            // A 404 means the server forgot our session: open a new one, once.
            if answer.status != StatusCode::NOT_FOUND || attempt > 0 || !had_session {
                return answer.into_result();
            }
        }
        Err(Box::new(ConnectorError::Initialize))
    }

    /// The legacy session of `client`, opened (or re-opened when `renew`) under the state
    /// lock so that concurrent callers share one `initialize`. Idle sessions are dropped
    /// first; over the limit, the least recently used one is.
    async fn session(
        &self,
        renew: bool,
        client: &ClientHop,
    ) -> Result<(Option<HeaderValue>, String), BoxError> {
        // A client's own session, or else one session per capability set: what the upstream
        // may ask depends on what the client declared.
        let key: Option<Arc<str>> = match client.session() {
            Some(s) => Some(Arc::from(s)),
            None if client
                .capabilities()
                .as_object()
                .is_some_and(|c| !c.is_empty()) =>
            {
                Some(Arc::from(format!("capabilities:{}", client.capabilities())))
            }
            None => None,
        };
        let mut state = self.shared.state.lock().await;
        let now = Instant::now();
        let idle = self.shared.idle;
        let mut gone: Vec<Session> = Vec::new();
        state.sessions.retain(|_, s| {
            let keep = now.duration_since(s.used) < idle;
            if !keep {
                gone.push(s.clone());
            }
            keep
        });
        if let (Some(s), false) = (state.sessions.get_mut(&key), renew) {
            s.used = now;
            let out = (s.id.clone(), s.version.clone());
            drop(state);
            self.close(gone);
            return Ok(out);
        }
        if !state.sessions.contains_key(&key) && state.sessions.len() >= self.shared.max_sessions {
            let oldest = state
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| k.clone());
            if let Some(s) = oldest.and_then(|k| state.sessions.remove(&k)) {
                gone.push(s);
            }
        }
        self.close(gone);
        // The session tells the upstream what its client(s) can answer.
        let capabilities = client.capabilities().clone();
        let init = RpcRequest::new(self.next_id(), "initialize").with_params(&json!({
            "protocolVersion": LEGACY_VERSIONS[0],
            "capabilities": capabilities,
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        }))?;
        let answer = self
            .post(HeaderMap::new(), &Message::from(init), None)
            .await?;
        let session = answer.headers.get("mcp-session-id").cloned();
        let result = answer.into_result()?;
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .filter(|v| LEGACY_VERSIONS.contains(v))
            .ok_or(ConnectorError::Initialize)?
            .to_owned();
        let mut headers = HeaderMap::new();
        if let Some(session) = &session {
            headers.insert("mcp-session-id", session.clone());
        }
        if let Ok(v) = HeaderValue::from_str(&version) {
            headers.insert("mcp-protocol-version", v);
        }
        let done = Message::from(Notification::new("notifications/initialized"));
        self.post(headers, &done, None).await?;
        let entry = Session {
            id: session.clone(),
            version: version.clone(),
            used: Instant::now(),
        };
        state.sessions.insert(key, entry);
        Ok((session, version))
    }

    /// A guard that, dropped armed, sends `notifications/cancelled` for request `id` on the
    /// session in `headers`, in the background.
    fn cancel_on_drop(&self, headers: HeaderMap, id: i64) -> CancelOnDrop {
        let client = self.client.clone();
        let shared = self.shared.clone();
        CancelOnDrop(Some(Box::new(move || {
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let note = Notification::new("notifications/cancelled")
                .with_params(&json!({"requestId": id, "reason": "cancelled by the client"}));
            let Ok(note) = note else { return };
            handle.spawn(async move {
                let auth = shared.authorization.as_ref().map(Secret::expose);
                let msg = Message::from(note);
                if let Err(e) = wire::post_only(client, &shared.uri, auth, headers, &msg).await {
                    tracing::debug!(error = %e, "mcp: could not tell the upstream of a cancellation");
                }
            });
        })))
    }

    /// Ends dropped sessions upstream with DELETE, in the background (best effort: a server
    /// may not support it, and expires them anyway).
    fn close(&self, gone: Vec<Session>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for s in gone {
            let Some(id) = s.id else { continue };
            let client = self.client.clone();
            let shared = self.shared.clone();
            handle.spawn(async move {
                let Ok(mut req) = Request::delete(shared.uri.clone()).body(Full::new(Bytes::new()))
                else {
                    return;
                };
                req.headers_mut().insert("mcp-session-id", id);
                if let Ok(v) = HeaderValue::from_str(&s.version) {
                    req.headers_mut().insert("mcp-protocol-version", v);
                }
                if let Some(a) = shared.authorization.as_ref().map(Secret::expose) {
                    let mut a = a.clone();
                    a.set_sensitive(true);
                    req.headers_mut().insert(http::header::AUTHORIZATION, a);
                }
                if let Err(e) = tower::ServiceExt::oneshot(client, req)
                    .await
                    .map_err(Into::into)
                {
                    tracing::debug!(error = %e, "mcp: closing an idle upstream session failed");
                }
            });
        }
    }
}
