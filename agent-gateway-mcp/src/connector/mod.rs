//! The streamable-HTTP upstream connector: sends [`UpstreamRequest`]s to one MCP server over
//! any HTTP client service, in the server's era.
//!
//! The era is probed and cached only from a definite answer: a modern request goes first; a
//! result, or a 400 carrying a modern error (-32020/-32021/-32022) or a 404 carrying -32601,
//! means modern. A 400 without a JSON-RPC error or with a session complaint (-32600, -32000),
//! or a 405, means legacy: the connector runs `initialize`, keeps the session and
//! re-initializes once if the server forgets it (404). A 400 carrying -32600 (invalid
//! request) to any request but `server/discover` may be a modern server's verdict on that
//! request: `server/discover` is sent to settle the era, and the first answer is passed on
//! unless that says legacy. Any other answer (429, 403, 404, 5xx, a timeout or a broken
//! connection) says nothing about the era: it is passed on, the era stays unknown, and the
//! next probe waits a backoff ([`PROBE_FIRST_BACKOFF`] doubling to [`PROBE_MAX_BACKOFF`])
//! during which requests fail at once with the last answer's status. The upstream's
//! credential is configured here; nothing from the client's request reaches the upstream but
//! the run's signed remainder ([`UpstreamRequest::run_budget`]), since an [`UpstreamRequest`]
//! carries no other header.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::connector::HttpUpstream;
//! use agent_gateway_mcp::front::McpFrontConfig;
//! use agent_gateway_mcp::testkit::FakeMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::Era;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! // A legacy-only server, in-process over HTTP.
//! let fake = FakeMcpServer::new().with_echo_tool("echo");
//! let http = fake.http(McpFrontConfig::new("old", "1").unwrap().with_modern(false));
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

mod changes;
mod clients;
mod dual;
mod legacy;
mod listen;
mod mux;
mod probe;
#[cfg(test)]
mod probe_tests;
#[cfg(test)]
mod tests;
mod wire;

pub mod pool;
pub mod sse;
pub use pool::Pool;
#[cfg(feature = "stdio")]
pub mod stdio;
pub use clients::{
    CALLER_SHARE, ClientSessionsFill, DEFAULT_CLIENT_SESSION_IDLE, DEFAULT_MAX_CLIENT_SESSIONS,
};
pub use dual::LEGACY_REFUSAL_EXPIRY;
pub use probe::{PROBE_FIRST_BACKOFF, PROBE_MAX_BACKOFF};
pub use sse::SseUpstream;
pub(crate) use wire::mirrored;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::jsonrpc::{ErrorObject, Id};
use agent_gateway_core::run::RUN_BUDGET_HEADER;
use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tower::Service;

use crate::era::{
    Era, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_LOG_LEVEL, META_PROTOCOL_VERSION,
    MODERN_VERSION,
};
use crate::error::{CODE_HEADER_MISMATCH, CODE_MISSING_CAPABILITY, CODE_UNSUPPORTED_VERSION};
use crate::notify::Notifier;
use crate::upstream::{Hop, UpstreamRequest};
use wire::{Answer, Outbound, post};

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
    /// The upstream sent nothing (no answer headers, no body bytes) for this long.
    #[error("upstream sent nothing for {0:?}")]
    Idle(Duration),
}

/// One legacy upstream session once open: its id (servers may issue none) and the negotiated
/// version.
#[derive(Debug, Clone)]
struct Session {
    id: Option<HeaderValue>,
    version: String,
}

#[derive(Debug, Default)]
struct State {
    era: Option<Era>,
    /// The era probe's backoff while no definite answer has come.
    probe: probe::Backoff,
    /// Whether the upstream keeps legacy sessions, once a legacy client's `initialize` said
    /// (see `dual`).
    legacy: dual::Support,
    /// Legacy sessions, one per client session (`Some(key)`), plus one shared by clients that
    /// have none (`None`: modern clients).
    sessions: HashMap<Option<Arc<str>>, Arc<legacy::Slot>>,
}

/// How long an unused legacy upstream session is kept by default.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(600);

/// How long an upstream may send nothing, connecting, before its answer's headers, or within
/// an answer or a notification stream, by default: above the 15 s keep-alive of MCP servers
/// (this gateway's own included) with room to spare.
pub const DEFAULT_STREAM_IDLE: Duration = Duration::from_secs(120);

/// How many legacy upstream sessions one upstream keeps at most by default.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;

struct Shared {
    uri: Uri,
    authorization: Option<Secret<HeaderValue>>,
    fixed: Option<Era>,
    idle: Duration,
    stream_idle: Duration,
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
            stream_idle: self.stream_idle,
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
                stream_idle: DEFAULT_STREAM_IDLE,
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
    /// them (default 1024; the least recently used goes first, and a caller holding an eighth
    /// of them pushes out its own least recently used rather than another caller's). A legacy upstream gets one
    /// session per client session, opened with that client's capabilities so that its
    /// requests to the client are routed back to the right one, plus one shared session for
    /// clients without one.
    pub fn with_sessions(mut self, idle: Duration, max: usize) -> Self {
        let shared = self.shared_mut();
        shared.idle = idle;
        shared.max_sessions = max.max(1);
        self
    }

    /// Gives up on an upstream that sends nothing for `idle` (default
    /// [`DEFAULT_STREAM_IDLE`]): no answer headers (connecting included), or no bytes within an
    /// answer or a notification stream, which is then opened again after a backoff. Calls
    /// have their own overall timeout besides (the federation member's).
    pub fn with_stream_idle_timeout(mut self, idle: Duration) -> Self {
        self.shared_mut().stream_idle = idle;
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

impl<C> Service<UpstreamRequest> for HttpUpstream<C>
where
    C: HttpTransport,
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
        if req.method() == &crate::method::McpMethod::SessionDelete {
            // A legacy client session ended: its upstream session ends too (nothing is asked).
            return Box::pin(async move {
                this.end_session(req.client()).await;
                Ok(Map::new())
            });
        }
        Box::pin(async move { this.send(req).await })
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

impl<C> HttpUpstream<C>
where
    C: HttpTransport,
{
    fn next_id(&self) -> i64 {
        i64::try_from(self.shared.next_id.fetch_add(1, Ordering::Relaxed)).unwrap_or(0)
    }

    async fn send(&self, req: UpstreamRequest) -> Result<Map<String, Value>, BoxError> {
        if let Some(result) = self.as_legacy_client(&req).await? {
            return Ok(result);
        }
        let era = match self.shared.fixed {
            Some(e) => Some(e),
            None => self.shared.state.lock().await.era,
        };
        match era {
            Some(Era::Modern) => self.modern(req).await?.into_result(),
            Some(_) => self.legacy(req).await,
            None => {
                self.may_probe().await?;
                let answer = self.modern(req.clone()).await;
                if let Ok(a) = &answer
                    && probe::needs_confirmation(a)
                    && req.method() != &crate::method::McpMethod::ServerDiscover
                {
                    // Maybe a modern server's verdict on this request itself: the discovery
                    // request decides, and the answer is passed on unless the era is legacy.
                    return match self.discover().await? {
                        Some(Era::Legacy) => self.legacy(req).await,
                        _ => answer?.into_result(),
                    };
                }
                let answer = self.probe_answer(answer).await?;
                match probe::verdict(&answer) {
                    Some(Era::Modern) => answer.into_result(),
                    Some(_) => self.legacy(req).await,
                    // Not an era answer: passed on, nothing cached.
                    None => answer.into_result(),
                }
            }
        }
    }

    async fn modern(&self, req: UpstreamRequest) -> Result<Answer, BoxError> {
        // Moved out of the request, not copied: the client's capabilities go upstream as they
        // came.
        let Hop {
            method,
            mut params,
            notifier,
            client,
            param_headers,
            run_budget,
        } = req.into_hop();
        let (capabilities, log_level) = client.unwrap_or_default().into_declared();
        let mut headers = HeaderMap::with_capacity(4 + param_headers.len());
        headers.insert(
            "mcp-protocol-version",
            HeaderValue::from_static(MODERN_VERSION),
        );
        if let Some(m) = mirrored(method.as_str()) {
            headers.insert("mcp-method", m);
        }
        if let Some(v) = method
            .name_header_key()
            .and_then(|k| params.get(k))
            .and_then(Value::as_str)
            .and_then(mirrored)
        {
            headers.insert("mcp-name", v);
        }
        for (name, value) in param_headers {
            headers.append(name, value);
        }
        if let Some(value) = run_budget {
            headers.insert(RUN_BUDGET_HEADER, value);
        }
        let meta = params.entry("_meta").or_insert_with(|| json!({}));
        if let Value::Object(meta) = meta {
            meta.insert(META_PROTOCOL_VERSION.into(), json!(MODERN_VERSION));
            // The client's own capabilities: the upstream must not ask for input the client
            // cannot give (the gateway relays what it asks).
            meta.insert(META_CLIENT_CAPABILITIES.into(), capabilities);
            if let Some(level) = log_level {
                meta.insert(META_LOG_LEVEL.into(), Value::String(level));
            }
            meta.insert(
                META_CLIENT_INFO.into(),
                json!({"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")}),
            );
        }
        let msg = Outbound::request(Id::from(self.next_id()), method.as_str(), &params)?;
        self.post(headers, &msg, notifier.as_ref()).await
    }

    async fn post(
        &self,
        headers: HeaderMap,
        msg: &Outbound,
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
            self.shared.stream_idle,
        )
        .await
    }
}
