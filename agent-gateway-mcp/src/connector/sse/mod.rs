//! The legacy HTTP+SSE upstream connector (MCP 2024-11-05): one `GET` event stream per
//! upstream carries every answer, and each message is POSTed to the URL the stream names.
//!
//! The stream is opened on the first call: `GET <sse url>` with `Accept: text/event-stream`;
//! the server's first event, `endpoint`, names the URL to POST to (relative to the SSE URL,
//! or absolute on the same origin: another origin is refused with
//! [`SseUpstreamError::CrossOrigin`], so our credential for this upstream goes nowhere
//! else). Then `initialize` (version 2024-11-05) and `notifications/initialized`, and the
//! stream is shared: many requests in flight at once, each answer matched by id.
//!
//! A stream that ends, fails or sends an event over the size limit fails every request in
//! flight at once with [`SseUpstreamError::Lost`]; the next call opens a new stream. A
//! connection attempt that fails is retried by a later call after a backoff that doubles up to
//! a cap; calls before then fail at once with the same error. Progress for a request is
//! relayed to its [`Notifier`] under the request's own token; a log
//! message names no request on this transport, so it is relayed only while exactly one request
//! is in flight (otherwise it goes to `tracing`). The per-request timeout is the federation's
//! (see [`Member`](crate::router::federation::Member)); a call whose caller gives up is cancelled
//! upstream with `notifications/cancelled`. A POST answered 404 means the server forgot our
//! session: the stream is dropped and the next call opens another. The server's `ping` on the
//! stream is answered; its other requests (sampling, elicitation, roots) go to the client of
//! the one call in flight whose client can be asked, and are refused with -32601 when there
//! is not exactly one, since no one client owns a shared stream.
//!
//! ```
//! use agent_gateway_mcp::connector::sse::{SseUpstream, SseUpstreamError};
//! use agent_gateway_mcp::testkit::{FakeMcpServer, LegacySseServer};
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::Map;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! // An old server on the HTTP+SSE transport, in-process.
//! let server = LegacySseServer::new(FakeMcpServer::new().with_echo_tool("echo"));
//! let upstream = SseUpstream::new(server.clone(), "http://old.test/sse".parse().unwrap());
//! let list = upstream.clone().oneshot(UpstreamRequest::new("tools/list", Map::new())).await.unwrap();
//! assert_eq!(list["tools"][0]["name"], "echo");
//! assert_eq!(server.methods(), ["initialize", "notifications/initialized", "tools/list"]);
//!
//! // A server that sends us to another host: refused, and nothing is POSTed there.
//! let moved = LegacySseServer::new(FakeMcpServer::new()).with_endpoint("http://elsewhere.test/messages");
//! let upstream = SseUpstream::new(moved.clone(), "http://old.test/sse".parse().unwrap());
//! let err = upstream.oneshot(UpstreamRequest::new("tools/list", Map::new())).await.unwrap_err();
//! assert_eq!(err.downcast_ref(), Some(&SseUpstreamError::CrossOrigin));
//! assert!(moved.methods().is_empty());
//! # });
//! ```

mod endpoint;
mod error;
mod link;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::jsonrpc::{Message, Notification, Request as RpcRequest};
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tower::{Service, ServiceExt};

pub use error::SseUpstreamError;

use crate::connector::mux::Pending;
use crate::era::LEGACY_VERSIONS;
use crate::notify::Notifier;
use crate::upstream::UpstreamRequest;
use link::{Inflight, Link, Reader, post};

/// The protocol version of the HTTP+SSE transport, asked for in `initialize`.
pub const SSE_VERSION: &str = "2024-11-05";

/// How an SSE upstream is reached, and the connector's limits.
#[derive(Debug, Clone)]
struct Config {
    uri: Uri,
    authorization: Option<Secret<HeaderValue>>,
    backoff: Duration,
    max_backoff: Duration,
    connect_timeout: Duration,
    max_event_size: usize,
}

/// Where the stream stands.
enum Conn {
    /// Not opened yet, or lost: the next call opens it.
    Idle,
    /// An attempt is under way; its outcome arrives here.
    Connecting(watch::Receiver<Option<Result<Arc<Link>, SseUpstreamError>>>),
    /// Open and past the handshake.
    Up(Arc<Link>),
    /// The last attempt failed; calls fail with its error until `until`.
    Down {
        until: Instant,
        error: SseUpstreamError,
    },
}

struct State {
    conn: Conn,
    /// Failed attempts in a row, for the backoff.
    failures: u32,
}

struct Shared {
    config: Config,
    state: Mutex<State>,
    next_id: AtomicI64,
    opened: AtomicU64,
    /// Dropped with the last handle: the reader then stops.
    stop: watch::Sender<()>,
}

impl Shared {
    fn new(config: Config) -> Self {
        Shared {
            config,
            state: Mutex::new(State {
                conn: Conn::Idle,
                failures: 0,
            }),
            next_id: AtomicI64::new(1),
            opened: AtomicU64::new(0),
            stop: watch::channel(()).0,
        }
    }

    /// The stream whose requests are `inflight` is gone: the next call opens another.
    fn lost(&self, inflight: &Arc<Inflight>) {
        if let Ok(mut state) = self.state.lock()
            && let Conn::Up(link) = &state.conn
            && Arc::ptr_eq(&link.inflight, inflight)
        {
            state.conn = Conn::Idle;
        }
    }

    fn authorization(&self) -> Option<HeaderValue> {
        self.config
            .authorization
            .as_ref()
            .map(|a| a.expose().clone())
    }
}

/// A legacy HTTP+SSE MCP upstream: `Service<UpstreamRequest>` over the HTTP client `C`,
/// sharing one event stream among all clones.
pub struct SseUpstream<C> {
    client: C,
    shared: Arc<Shared>,
}

impl<C: Clone> Clone for SseUpstream<C> {
    fn clone(&self) -> Self {
        SseUpstream {
            client: self.client.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<C> fmt::Debug for SseUpstream<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseUpstream")
            .field("config", &self.shared.config)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "client")]
impl SseUpstream<agent_gateway_core::client::HttpClient<Full<Bytes>>> {
    /// An upstream whose SSE URL is `uri`, over core's rustls HTTP client.
    pub fn connect(uri: Uri) -> Self {
        SseUpstream::new(agent_gateway_core::client::http_client(), uri)
    }
}

impl<C> SseUpstream<C> {
    /// An upstream whose SSE URL is `uri`, reached through `client`. Nothing is opened until
    /// the first call. Connecting (stream, endpoint, handshake) has 10 s; failed attempts are
    /// retried after 100 ms doubling up to 30 s; one event may be up to 16 MiB.
    pub fn new(client: C, uri: Uri) -> Self {
        SseUpstream {
            client,
            shared: Arc::new(Shared::new(Config {
                uri,
                authorization: None,
                backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(30),
                connect_timeout: Duration::from_secs(10),
                max_event_size: 16 * 1024 * 1024,
            })),
        }
    }

    /// A builder step: the configuration changed, with a fresh connection state (a clone
    /// detaches from the others).
    fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config.clone();
        f(&mut config);
        self.shared = Arc::new(Shared::new(config));
        self
    }

    /// Sends `Authorization: <value>` (for example `Bearer <token>`) on the stream and every
    /// POST: this upstream's own credential, never the client's.
    pub fn with_authorization(self, value: Secret<HeaderValue>) -> Self {
        self.configure(|c| c.authorization = Some(value))
    }

    /// The first retry delay after a failed connection attempt, and the cap it doubles up to.
    pub fn with_backoff(self, first: Duration, max: Duration) -> Self {
        self.configure(|c| {
            c.backoff = first;
            c.max_backoff = max.max(first);
        })
    }

    /// The longest a connection attempt may take: the stream's answer, its `endpoint` event
    /// and the `initialize` handshake.
    pub fn with_connect_timeout(self, timeout: Duration) -> Self {
        self.configure(|c| c.connect_timeout = timeout)
    }

    /// The largest event accepted on the stream, in bytes; a larger one drops the stream.
    pub fn with_max_event_size(self, max: usize) -> Self {
        self.configure(|c| c.max_event_size = max)
    }

    /// The SSE URL.
    pub fn uri(&self) -> &Uri {
        &self.shared.config.uri
    }

    /// Whether a stream is open and past its handshake.
    pub fn is_connected(&self) -> bool {
        self.shared
            .state
            .lock()
            .is_ok_and(|s| matches!(&s.conn, Conn::Up(l) if l.inflight.is_open()))
    }

    /// How many streams were opened so far (1 + reconnections).
    pub fn streams_opened(&self) -> u64 {
        self.shared.opened.load(Ordering::SeqCst)
    }
}

impl<C, B> Service<UpstreamRequest> for SseUpstream<C>
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
        Box::pin(async move {
            let link = this.link().await?;
            let notifier = req.notifier().cloned();
            let (method, params) = req.into_parts();
            this.exchange(&link, method.as_str(), params, notifier)
                .await
        })
    }
}

/// Aborts a task when dropped, unless disarmed.
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Forgets a request that is no longer awaited; if it was still in flight (its caller gave
/// up, a timeout say), tells the server with `cancel`, a `notifications/cancelled` POST.
struct Forget<'a> {
    inflight: &'a Inflight,
    id: i64,
    cancel: Option<BoxFuture<'static, ()>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if self.inflight.remove(self.id)
            && let Some(cancel) = self.cancel.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(cancel);
        }
    }
}

impl<C, B> SseUpstream<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// The open stream, opening it (once, for all callers) when there is none.
    async fn link(&self) -> Result<Arc<Link>, BoxError> {
        let mut outcome = {
            let mut state = self
                .shared
                .state
                .lock()
                .map_err(|_| SseUpstreamError::Lost)?;
            match &state.conn {
                Conn::Up(link) if link.inflight.is_open() => return Ok(link.clone()),
                Conn::Connecting(rx) => rx.clone(),
                Conn::Down { until, error } if Instant::now() < *until => {
                    return Err(Box::new(error.clone()));
                }
                _ => {
                    let (tx, rx) = watch::channel(None);
                    state.conn = Conn::Connecting(rx.clone());
                    tokio::spawn(attempt(self.shared.clone(), self.client.clone(), tx));
                    rx
                }
            }
        };
        let done = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| SseUpstreamError::Lost)?;
        match done.as_ref() {
            Some(Ok(link)) => Ok(link.clone()),
            Some(Err(e)) => Err(Box::new(e.clone())),
            None => Err(Box::new(SseUpstreamError::Lost)),
        }
    }

    /// One request over `link`, and its answer from the stream.
    async fn exchange(
        &self,
        link: &Link,
        method: &str,
        mut params: Map<String, Value>,
        notifier: Option<Notifier>,
    ) -> Result<Map<String, Value>, BoxError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        // Progress is asked for under our own token, the request id, so that concurrent
        // clients' tokens never collide; the notifier maps it back to the client's.
        let wants_progress = notifier
            .as_ref()
            .is_some_and(|n| n.progress_token().is_some());
        if let Some(Value::Object(meta)) = params.get_mut("_meta") {
            meta.remove("progressToken");
        }
        if wants_progress {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Value::Object(meta) = meta {
                meta.insert("progressToken".into(), json!(id));
            }
        }
        let message = Message::from(RpcRequest::new(id, method).with_params(&params)?);
        let (answer, rx) = oneshot::channel();
        link.inflight.insert(id, Pending { answer, notifier })?;
        let auth = self.shared.authorization();
        // `initialize` is never cancelled.
        let cancel = (method != "initialize").then(|| {
            let (client, uri, auth) = (self.client.clone(), link.endpoint.clone(), auth.clone());
            let reason = json!({"requestId": id, "reason": "the caller went away"});
            Box::pin(async move {
                if let Ok(n) = Notification::new("notifications/cancelled").with_params(&reason) {
                    let _ = post(client, &uri, auth.as_ref(), &Message::from(n)).await;
                }
            }) as BoxFuture<'static, ()>
        });
        let _forget = Forget {
            inflight: &link.inflight,
            id,
            cancel,
        };
        let status = post(self.client.clone(), &link.endpoint, auth.as_ref(), &message).await?;
        if !status.is_success() {
            if status == StatusCode::NOT_FOUND {
                // The server forgot our session: this stream is of no more use.
                link.close();
            }
            return Err(Box::new(SseUpstreamError::Status(status)));
        }
        match rx.await {
            Ok(outcome) => outcome,
            Err(_) => Err(Box::new(SseUpstreamError::Lost)),
        }
    }

    /// Opens the stream, waits for its endpoint and runs the handshake.
    async fn open(&self) -> Result<Arc<Link>, SseUpstreamError> {
        let config = &self.shared.config;
        let mut get = Request::get(config.uri.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|_| SseUpstreamError::BadEndpoint)?;
        let h = get.headers_mut();
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let auth = self.shared.authorization();
        if let Some(mut a) = auth.clone() {
            a.set_sensitive(true);
            h.insert(AUTHORIZATION, a);
        }
        let res = self.client.clone().oneshot(get).await.map_err(|e| {
            let e: BoxError = e.into();
            tracing::warn!(uri = %config.uri, error = %e, "mcp sse: could not open the stream");
            SseUpstreamError::Unreachable
        })?;
        self.shared.opened.fetch_add(1, Ordering::SeqCst);
        if res.status() != StatusCode::OK {
            return Err(SseUpstreamError::Status(res.status()));
        }
        let is_sse = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Err(SseUpstreamError::NotEventStream);
        }
        let inflight = Arc::new(Inflight::new());
        let reader = Reader {
            client: self.client.clone(),
            base: config.uri.clone(),
            authorization: auth,
            max_event_size: config.max_event_size,
            inflight: inflight.clone(),
            shared: Arc::downgrade(&self.shared),
            stop: self.shared.stop.subscribe(),
        };
        let (tx, endpoint) = oneshot::channel();
        let task = tokio::spawn(reader.run(res.into_body(), tx));
        // Stops the reader (failing what is in flight) unless the attempt gets through.
        let mut armed = AbortOnDrop(Some(task.abort_handle()));
        let endpoint = match endpoint.await {
            Ok(Ok(uri)) => uri,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(SseUpstreamError::NoEndpoint),
        };
        let link = Arc::new(Link {
            endpoint,
            inflight,
            reader: task.abort_handle(),
        });
        self.handshake(&link).await?;
        armed.0 = None;
        Ok(link)
    }

    async fn handshake(&self, link: &Link) -> Result<(), SseUpstreamError> {
        let params = json!({
            "protocolVersion": SSE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        });
        let Value::Object(params) = params else {
            return Err(SseUpstreamError::Initialize);
        };
        let result = self
            .exchange(link, "initialize", params, None)
            .await
            .map_err(|e| {
                tracing::warn!(uri = %self.shared.config.uri, error = %e, "mcp sse: initialize failed");
                e.downcast_ref::<SseUpstreamError>()
                    .cloned()
                    .unwrap_or(SseUpstreamError::Initialize)
            })?;
        let version = result.get("protocolVersion").and_then(Value::as_str);
        if !version.is_some_and(|v| v == SSE_VERSION || LEGACY_VERSIONS.contains(&v)) {
            return Err(SseUpstreamError::Initialize);
        }
        let done = Message::from(Notification::new("notifications/initialized"));
        let auth = self.shared.authorization();
        let status = post(self.client.clone(), &link.endpoint, auth.as_ref(), &done)
            .await
            .map_err(|_| SseUpstreamError::Unreachable)?;
        if !status.is_success() {
            return Err(SseUpstreamError::Status(status));
        }
        Ok(())
    }
}

/// One connection attempt, run on its own task so that a caller that gives up cannot leave
/// it half done; its outcome goes to the state and to every caller waiting on it.
async fn attempt<C, B>(
    shared: Arc<Shared>,
    client: C,
    tx: watch::Sender<Option<Result<Arc<Link>, SseUpstreamError>>>,
) where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let this = SseUpstream {
        client,
        shared: shared.clone(),
    };
    let timeout = shared.config.connect_timeout;
    let outcome = match tokio::time::timeout(timeout, this.open()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(SseUpstreamError::ConnectTimeout),
    };
    if let Ok(mut state) = shared.state.lock() {
        match &outcome {
            Ok(link) => {
                state.failures = 0;
                state.conn = Conn::Up(link.clone());
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                let doubling = 2u32.saturating_pow(state.failures.saturating_sub(1).min(16));
                let delay = shared
                    .config
                    .backoff
                    .saturating_mul(doubling)
                    .min(shared.config.max_backoff);
                tracing::warn!(uri = %shared.config.uri, %error, retry_in = ?delay, "mcp sse: connecting failed");
                state.conn = Conn::Down {
                    until: Instant::now() + delay,
                    error: error.clone(),
                };
            }
        }
    }
    let _ = tx.send(Some(outcome));
}
