//! The legacy HTTP+SSE upstream connector (MCP 2024-11-05): one `GET` event stream per
//! upstream carries every answer, and each message is POSTed to the URL the stream names.
//!
//! The stream is opened on the first call: `GET <sse url>` with `Accept: text/event-stream`;
//! the server's first event, `endpoint`, names the URL to POST to (relative to the SSE URL,
//! or absolute on the same origin: another origin is refused with
//! [`SseUpstreamError::CrossOrigin`], so our credential for this upstream goes nowhere
//! else). Then `initialize` (version 2024-11-05) and `notifications/initialized`: many
//! requests in flight at once, each answer matched by id. A stream is one MCP session, so a
//! client's requests go on a stream of its own (see [`SseUpstream`]): a legacy client
//! session's, or its caller's; one stream serves requests of no known caller.
//!
//! A stream that ends, fails or sends an event over the size limit fails every request in
//! flight at once with [`SseUpstreamError::Lost`]; the next call opens a new stream. A
//! connection attempt that fails is retried by a later call after a backoff that doubles up to
//! a cap; calls before then fail at once with the same error. Progress for a request is
//! relayed to its [`Notifier`](crate::notify::Notifier) under the request's own token; a log
//! message names no request on this transport, so it is relayed only while exactly one request
//! is in flight (otherwise it goes to `tracing`). The per-request timeout is the federation's
//! (see [`Member`](crate::router::federation::Member)); a call whose caller gives up is cancelled
//! upstream with `notifications/cancelled`. A POST answered 404 means the server forgot our
//! session: the stream is dropped and the next call opens another. The server's `ping` on the
//! stream is answered; its other requests (sampling, elicitation, roots: capabilities a
//! client's own stream declares at `initialize` with [`SseUpstream::with_relayed_requests`],
//! and the shared stream, which serves requests of no client, never does) go to the client of the call that owns them (named in
//! `_meta`, or the one call in flight) when that client can be asked and declared the
//! capability, and are refused with -32601 otherwise, since no one client owns a shared
//! stream. `subscriptions/listen` is served here, as for a stdio child: the URIs it names are
//! subscribed with `resources/subscribe`, and the stream's change notifications go to every
//! listen whose filter admits them until the stream is lost (the listen then fails with
//! [`SseUpstreamError::Lost`]).
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

mod connect;
mod endpoint;
mod error;
mod exchange;
mod link;
mod listen;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Uri};
use http_body_util::Full;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::Service;

pub use error::SseUpstreamError;

use crate::McpError;
use crate::connector::clients::{self, ClientTable, Lease};
use crate::method::McpMethod;
use crate::request::{ClientHop, Owner};
use crate::upstream::UpstreamRequest;
use link::{Inflight, Link};

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
    stream_idle: Duration,
    /// Whether the server's requests are relayed: clients get sessions of their own,
    /// declaring what they declared.
    relayed: bool,
    /// The most connections for clients at once, and how long an unused one is kept.
    max_client_sessions: usize,
    client_session_idle: Duration,
    /// The client capabilities this connection's session declares (a client's own
    /// connection); `None`: the shared connection, which declares none.
    capabilities: Option<Value>,
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
    /// The change notifications for `subscriptions/listen`, and the stream's end.
    changes: tokio::sync::broadcast::Sender<super::changes::Change>,
    /// The connections for clients (see [`SseUpstream`]).
    clients: Arc<ClientTable<Arc<Shared>>>,
}

impl Shared {
    fn new(config: Config) -> Self {
        let clients = Arc::new(ClientTable::new(
            config.uri.to_string(),
            config.max_client_sessions,
            config.client_session_idle,
            |shared: Arc<Shared>| shared.close(),
        ));
        Shared {
            clients,
            config,
            state: Mutex::new(State {
                conn: Conn::Idle,
                failures: 0,
            }),
            next_id: AtomicI64::new(1),
            opened: AtomicU64::new(0),
            stop: watch::channel(()).0,
            changes: tokio::sync::broadcast::channel(super::changes::CAPACITY).0,
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

    /// Closes the stream, if open: its requests fail, and its reader stops.
    fn close(&self) {
        let conn = self
            .state
            .lock()
            .map(|mut state| std::mem::replace(&mut state.conn, Conn::Idle));
        if let Ok(Conn::Up(link)) = conn {
            link.close();
        }
    }

    fn authorization(&self) -> Option<HeaderValue> {
        self.config
            .authorization
            .as_ref()
            .map(|a| a.expose().clone())
    }
}

/// A legacy HTTP+SSE MCP upstream: `Service<UpstreamRequest>` over the HTTP client `C`.
///
/// A stream is one MCP session: what the server sends on it outside a call and what it asks
/// of its client belongs to that session alone. So a request whose client is known goes on a
/// stream of its own (see [`with_relayed_requests`](Self::with_relayed_requests)): its legacy
/// session's, or its caller's; one stream, shared by all clones, serves requests of no known
/// caller. Streams for clients are opened on their first request and bounded
/// ([`with_client_sessions`](Self::with_client_sessions)); a legacy client session's end
/// (`DELETE`) closes its stream.
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
                stream_idle: super::DEFAULT_STREAM_IDLE,
                relayed: false,
                max_client_sessions: super::DEFAULT_MAX_CLIENT_SESSIONS,
                client_session_idle: super::DEFAULT_CLIENT_SESSION_IDLE,
                capabilities: None,
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

    /// Drops the stream when it carries nothing, not even a keep-alive, for `idle` (default
    /// [`DEFAULT_STREAM_IDLE`](super::DEFAULT_STREAM_IDLE)): its calls fail at once and the
    /// next call connects again.
    pub fn with_stream_idle_timeout(self, idle: Duration) -> Self {
        self.configure(|c| c.stream_idle = idle)
    }

    /// The largest event accepted on the stream, in bytes; a larger one drops the stream.
    pub fn with_max_event_size(self, max: usize) -> Self {
        self.configure(|c| c.max_event_size = max)
    }

    /// With `on`, the server's requests (sampling, elicitation, roots) are relayed to clients:
    /// a legacy client's session gets a stream of its own, opened with the capabilities that
    /// client declared, and any other client a stream per caller and capability set; the
    /// shared stream (requests of no client) declares none, so a server's tool falls back as
    /// with a client lacking them (no one could answer it there). Each request goes to the
    /// client of the call that owns it, only if that client declared the capability (else the
    /// server gets -32601). Off by default: a stream per caller, declaring none.
    pub fn with_relayed_requests(self, on: bool) -> Self {
        self.configure(|c| c.relayed = on)
    }

    /// Keeps at most `max` streams for clients at once (default
    /// [`DEFAULT_MAX_CLIENT_SESSIONS`](super::DEFAULT_MAX_CLIENT_SESSIONS), a caller at most a
    /// [`CALLER_SHARE`](super::CALLER_SHARE)th of them; past it a client gets
    /// [`McpError::UpstreamSessionsFull`]), and closes
    /// one with no call in flight that was unused for `idle` (default
    /// [`DEFAULT_CLIENT_SESSION_IDLE`](super::DEFAULT_CLIENT_SESSION_IDLE)).
    pub fn with_client_sessions(self, max: usize, idle: Duration) -> Self {
        self.configure(|c| {
            c.max_client_sessions = max.max(1);
            c.client_session_idle = idle;
        })
    }

    /// How many streams for clients are open now (the shared one aside).
    pub fn client_sessions(&self) -> usize {
        self.shared.clients.len()
    }

    /// A live reading of the table of streams for clients and its bound, for metrics; it
    /// does not keep this upstream alive. Take it once configured: each `with_*` call makes
    /// a new table.
    pub fn client_sessions_fill(&self) -> super::ClientSessionsFill {
        self.shared.clients.fill()
    }

    /// The upstream that serves `client`'s requests, with the lease that keeps its stream
    /// while the call runs: this one (no lease) for a request of no known caller, else the
    /// client's own.
    fn for_client(
        &self,
        client: Option<&ClientHop>,
    ) -> Result<(SseUpstream<C>, Option<Lease>), McpError>
    where
        C: Clone,
    {
        let Some((key, capabilities)) = clients::key(client, self.shared.config.relayed) else {
            return Ok((self.clone(), None));
        };
        let owner = client.and_then(ClientHop::owner).map(Owner::digest);
        let (shared, lease) = self.shared.clients.get_or_open(&key, owner, || {
            let mut config = self.shared.config.clone();
            config.capabilities = Some(capabilities);
            Arc::new(Shared::new(config))
        })?;
        let upstream = SseUpstream {
            client: self.client.clone(),
            shared,
        };
        Ok((upstream, Some(lease)))
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

impl<C> Service<UpstreamRequest> for SseUpstream<C>
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
        if req.method() == &McpMethod::SessionDelete {
            // A legacy client session ended: its stream closes (nothing else is asked).
            if let Some(key) = clients::session_key(req.client(), self.shared.config.relayed) {
                self.shared.clients.remove(&key);
            }
            return Box::pin(async move { Ok(Map::new()) });
        }
        let this = self.for_client(req.client());
        Box::pin(async move {
            let (this, _lease) = this?;
            if req.method() == crate::listen::LISTEN {
                return this.listen(req).await;
            }
            let link = this.link().await?;
            let notifier = req.notifier().cloned();
            let declared = req.client().map(|c| c.capabilities().clone());
            let (method, params) = req.into_parts();
            this.exchange(&link, method.as_str(), params, notifier, declared)
                .await
        })
    }
}
