//! The stdio upstream connector: runs an MCP server as a child process and speaks
//! newline-delimited JSON-RPC with it on stdin and stdout.
//!
//! A stdio server speaks the 2025-11-25 era: the connector runs `initialize` and
//! `notifications/initialized` first, then takes requests, many at once, matched to their
//! answers by id. A child is one MCP session, so a client's requests go to a child of its own
//! (see [`StdioUpstream`]): a legacy client session's (opened with that client's
//! capabilities, with [`StdioConfig::with_relayed_requests`], so that the server's requests
//! reach that client only), or its caller's; one child serves requests of no known caller.
//! Children for clients are bounded ([`StdioConfig::with_client_sessions`]) and stopped when
//! idle or when their session ends. The child's stderr goes to `tracing`. A child that exits is restarted after
//! an exponential, capped backoff (tokio time); meanwhile calls fail at once with
//! [`StdioError::NotRunning`], and a call in flight when it exits fails with
//! [`StdioError::Exited`]: nothing waits longer than the request timeout. What waits to be
//! written to the child's stdin is bounded in bytes ([`DEFAULT_MAX_QUEUED`]): a call that
//! finds it full fails at once with [`StdioError::QueueFull`], and a child that has not taken a
//! line for the stall timeout ([`DEFAULT_STALL_TIMEOUT`]) is restarted. Progress for a
//! request is relayed to its [`Notifier`] under the request's own
//! token; the server's log messages name no request on stdio: they and its change
//! notifications (list changes, resource updates) go to the `subscriptions/listen` requests
//! served on the same child, each through its own filter (see [`crate::listen`]).
//! When the last handle is dropped, or on [`StdioUpstream::shutdown`], stdin is closed, the
//! child gets the shutdown timeout to leave, and is then killed.
//!
//! ```
//! use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioError, StdioUpstream};
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::Map;
//! use std::time::Duration;
//! use tower::ServiceExt;
//!
//! // A tiny stdio server: it answers `initialize` and lists one tool.
//! const SERVER: &str = r#"
//! import json, sys
//! for line in sys.stdin:
//!     m = json.loads(line)
//!     if "id" not in m: continue
//!     if m["method"] == "initialize":
//!         r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {}, "serverInfo": {"name": "tiny", "version": "1"}}
//!     else:
//!         r = {"tools": [{"name": "hi", "inputSchema": {"type": "object"}}]}
//!     print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
//! "#;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let tiny = StdioUpstream::spawn("tiny", StdioConfig::new("python3").with_args(["-c", SERVER]));
//! // The child's handshake, awaited (bounded).
//! tokio::time::timeout(Duration::from_secs(10), tiny.ready()).await.unwrap();
//! assert!(tiny.is_ready());
//! let list = tiny.clone().oneshot(UpstreamRequest::new("tools/list", Map::new())).await.unwrap();
//! assert_eq!(list["tools"][0]["name"], "hi");
//! tiny.shutdown().await;
//!
//! // A server that cannot start: every call fails at once, none hangs.
//! let config = StdioConfig::new("/nonexistent/mcp-server")
//!     .with_backoff(Duration::from_secs(60), Duration::from_secs(60));
//! let missing = StdioUpstream::spawn("missing", config);
//! let req = UpstreamRequest::new("tools/list", Map::new());
//! let err = missing.clone().oneshot(req).await.unwrap_err();
//! assert_eq!(err.downcast_ref::<StdioError>(), Some(&StdioError::NotRunning));
//! missing.shutdown().await;
//! # });
//! ```

mod error;
mod lines;
mod link;
mod listen;
mod supervisor;

#[cfg(test)]
mod fuzz_tests;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::{BoxError, Secret};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tower::Service;

pub use error::StdioError;

use crate::connector::clients::{self, ClientTable, Lease};
use crate::connector::mux::{self, Exchange};
use crate::connector::{DEFAULT_CLIENT_SESSION_IDLE, DEFAULT_MAX_CLIENT_SESSIONS};
use crate::method::McpMethod;
use crate::notify::Notifier;
use crate::request::{ClientHop, Owner};
use crate::upstream::UpstreamRequest;
use link::Link;

/// The most bytes waiting for a child's stdin by default: a few requests at the front's
/// default 4 MiB body limit, so a child that stops reading holds at most this much.
pub const DEFAULT_MAX_QUEUED: usize = 16 * 1024 * 1024;

/// How long a child may take one line from its stdin by default before it is taken for stuck
/// and restarted: far longer than a pipe write to a live process takes.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run one stdio server: the command, and the connector's timings.
#[derive(Debug, Clone)]
pub struct StdioConfig {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Secret<OsString>)>,
    inherit_env: bool,
    current_dir: Option<PathBuf>,
    request_timeout: Duration,
    backoff: Duration,
    max_backoff: Duration,
    shutdown_timeout: Duration,
    max_queued: usize,
    stall_timeout: Duration,
    relayed: bool,
    max_client_sessions: usize,
    client_session_idle: Duration,
}

impl StdioConfig {
    /// Runs `program`, with no arguments, an empty environment (none of the gateway's
    /// variables, its secrets included, reach the child unless given with
    /// [`with_env`](Self::with_env) or [`with_inherited_env`](Self::with_inherited_env)), a 30 s
    /// request timeout, restarts after 100 ms doubling up to 30 s, and 5 s to exit on shutdown.
    pub fn new(program: impl Into<OsString>) -> Self {
        StdioConfig {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            inherit_env: false,
            current_dir: None,
            request_timeout: Duration::from_secs(30),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            max_queued: DEFAULT_MAX_QUEUED,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            relayed: false,
            max_client_sessions: DEFAULT_MAX_CLIENT_SESSIONS,
            client_session_idle: DEFAULT_CLIENT_SESSION_IDLE,
        }
    }

    /// With `on`, the server's requests (sampling, elicitation, roots) are relayed to clients:
    /// a legacy client's session gets a child of its own, opened with the capabilities that
    /// client declared, and any other client a child per caller and capability set; the
    /// shared child (requests of no client) declares none, so a server's tool falls back as
    /// with a client lacking them (no one could answer it there). Each request goes to the
    /// client of the call that owns it, only if that client declared the capability (else the
    /// server gets -32601). Off by default: a child per caller, declaring none.
    pub fn with_relayed_requests(mut self, on: bool) -> Self {
        self.relayed = on;
        self
    }

    /// Keeps at most `max` children for clients at once (default
    /// [`DEFAULT_MAX_CLIENT_SESSIONS`], a caller at most a
    /// [`CALLER_SHARE`](crate::connector::CALLER_SHARE)th of them; past
    /// it a client gets [`McpError::UpstreamSessionsFull`](crate::McpError::UpstreamSessionsFull)),
    /// and stops one with no call in flight that was unused for `idle` (default
    /// [`DEFAULT_CLIENT_SESSION_IDLE`]). See [`StdioUpstream`] for which client gets which.
    pub fn with_client_sessions(mut self, max: usize, idle: Duration) -> Self {
        self.max_client_sessions = max.max(1);
        self.client_session_idle = idle;
        self
    }

    /// Holds at most `bytes` waiting for the child's stdin (default
    /// [`DEFAULT_MAX_QUEUED`]); a call that finds no room fails with
    /// [`StdioError::QueueFull`].
    pub fn with_max_queued(mut self, bytes: usize) -> Self {
        self.max_queued = bytes;
        self
    }

    /// Restarts a child that has not taken a line from its stdin for `timeout` (default
    /// [`DEFAULT_STALL_TIMEOUT`]).
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// Adds arguments.
    pub fn with_args<I: IntoIterator<Item = A>, A: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child; its value is redacted in `Debug`.
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Secret::from(value.into())));
        self
    }

    /// Starts the child with none of the gateway's environment: only the variables set with
    /// [`with_env`](Self::with_env). This is the default; it undoes
    /// [`with_inherited_env`](Self::with_inherited_env). A `program` without a `/` is then
    /// looked up in the `PATH` given with `with_env`, or in the system's default path.
    pub fn without_inherited_env(mut self) -> Self {
        self.inherit_env = false;
        self
    }

    /// Starts the child with the gateway's whole environment (secrets meant for the gateway
    /// included), plus the variables set with [`with_env`](Self::with_env). An explicit
    /// choice: the default is an empty environment.
    pub fn with_inherited_env(mut self) -> Self {
        self.inherit_env = true;
        self
    }

    /// Starts the child in `dir` rather than in the gateway's working directory.
    pub fn with_current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The longest wait for any one answer, `initialize` included.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The first restart delay, and the cap it doubles up to.
    pub fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// How long the child has to exit once its stdin is closed, before it is killed.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

struct Shared {
    label: String,
    config: StdioConfig,
    /// The client capabilities the child's session is opened with.
    capabilities: Value,
    slot: Mutex<Option<Link>>,
    next_id: AtomicI64,
    starts: AtomicU64,
    changes: tokio::sync::broadcast::Sender<listen::Change>,
    /// Whether a child is up and past its handshake, for [`StdioUpstream::ready`].
    ready: watch::Sender<bool>,
}

/// Stops the child when the last handle goes.
struct Handle {
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

/// A stdio MCP upstream: `Service<UpstreamRequest>` over supervised child processes, one per
/// client session or caller.
///
/// A child is one MCP session: what it sends outside a call and what it asks of its client
/// belongs to that session alone. So a request whose client is known goes to a child of its
/// own (see [`StdioConfig::with_relayed_requests`]): its legacy session's, or its caller's; the
/// child started with the upstream serves requests of no known caller. Children for clients
/// are started on their first request and bounded ([`StdioConfig::with_client_sessions`]); a
/// legacy client session's end (`DELETE`) stops its child.
#[derive(Clone)]
pub struct StdioUpstream {
    shared: Arc<Shared>,
    handle: Arc<Handle>,
    clients: Arc<ClientTable<StdioUpstream>>,
}

impl fmt::Debug for StdioUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdioUpstream")
            .field("label", &self.shared.label)
            .field("config", &self.shared.config)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl StdioUpstream {
    /// Starts the child described by `config` and supervises it; `label` names it in logs.
    /// Must be called within a Tokio runtime (it spawns the supervisor, as `tokio::spawn`).
    pub fn spawn(label: impl Into<String>, config: StdioConfig) -> Self {
        Self::start(label.into(), config, mux::shared_session_capabilities())
    }

    /// Starts one child whose session declares `capabilities`.
    fn start(label: String, config: StdioConfig, capabilities: Value) -> Self {
        let clients = Arc::new(ClientTable::new(
            label.clone(),
            config.max_client_sessions,
            config.client_session_idle,
            |child: StdioUpstream| {
                let _ = child.handle.stop.send(true);
            },
        ));
        let shared = Arc::new(Shared {
            label,
            capabilities,
            config,
            slot: Mutex::new(None),
            next_id: AtomicI64::new(1),
            starts: AtomicU64::new(0),
            changes: tokio::sync::broadcast::channel(listen::CAPACITY).0,
            ready: watch::channel(false).0,
        });
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(supervisor::run(shared.clone(), stop_rx, done_tx));
        StdioUpstream {
            shared,
            handle: Arc::new(Handle { stop, done }),
            clients,
        }
    }

    /// How many children for clients run now (the shared child aside).
    pub fn client_sessions(&self) -> usize {
        self.clients.len()
    }

    /// A live reading of the table of children for clients and its bound, for metrics; it
    /// does not keep the children alive.
    pub fn client_sessions_fill(&self) -> crate::connector::ClientSessionsFill {
        self.clients.fill()
    }

    /// The child that serves `client`'s requests, with the lease that keeps it while the call
    /// runs: the shared one (no lease) for a request of no known caller, else the client's
    /// own, started and awaited (within the request timeout) on its first request.
    async fn child_for(
        &self,
        client: Option<&ClientHop>,
    ) -> Result<(StdioUpstream, Option<Lease>), BoxError> {
        let Some((key, capabilities)) = clients::key(client, self.shared.config.relayed) else {
            return Ok((self.clone(), None));
        };
        let owner = client.and_then(ClientHop::owner).map(Owner::digest);
        let (child, lease) = self.clients.get_or_open(&key, owner, || {
            let label = format!("{} (client session)", self.shared.label);
            tracing::debug!(upstream = %self.shared.label, "mcp stdio: starting a child for a client");
            StdioUpstream::start(label, self.shared.config.clone(), capabilities)
        })?;
        let wait = self.shared.config.request_timeout;
        if tokio::time::timeout(wait, child.ready()).await.is_err() {
            return Err(Box::new(StdioError::NotRunning));
        }
        Ok((child, Some(lease)))
    }

    /// Whether the child is up and past its handshake.
    pub fn is_ready(&self) -> bool {
        self.shared
            .slot
            .lock()
            .is_ok_and(|s| s.as_ref().is_some_and(|l| l.ready))
    }

    /// Waits until a child is up and past its handshake (at once if one is): the signal to
    /// await instead of polling [`is_ready`](Self::is_ready). Bound it with a timeout: a
    /// child that cannot start never gets there.
    ///
    /// ```no_run
    /// # async fn f(upstream: agent_gateway_mcp::connector::stdio::StdioUpstream) {
    /// use std::time::Duration;
    /// tokio::time::timeout(Duration::from_secs(60), upstream.ready())
    ///     .await
    ///     .expect("the server's handshake within 60 s");
    /// # }
    /// ```
    pub async fn ready(&self) {
        let mut ready = self.shared.ready.subscribe();
        // The sender lives in `shared`, which `self` holds: the wait ends only when ready.
        let _ = ready.wait_for(|up| *up).await;
    }

    /// How many bytes wait now to be written to the child's stdin (0 when none runs).
    pub fn queued(&self) -> usize {
        self.shared
            .slot
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|l| l.writer.queued()))
            .unwrap_or(0)
    }

    /// How many times a child was started (1 + restarts).
    pub fn starts(&self) -> u64 {
        self.shared.starts.load(Ordering::SeqCst)
    }

    /// Stops the child: stdin closed, the shutdown timeout to exit, then a kill. Calls after
    /// this fail with [`StdioError::NotRunning`].
    pub async fn shutdown(&self) {
        for child in self.clients.drain() {
            Box::pin(child.shutdown()).await;
        }
        let _ = self.handle.stop.send(true);
        let mut done = self.handle.done.clone();
        while !*done.borrow_and_update() {
            if done.changed().await.is_err() {
                break;
            }
        }
    }
}

impl Service<UpstreamRequest> for StdioUpstream {
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Map<String, Value>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let this = self.clone();
        if req.method() == &McpMethod::SessionDelete {
            // A legacy client session ended: its child stops (nothing else is asked).
            if let Some(key) = clients::session_key(req.client(), self.shared.config.relayed) {
                this.clients.remove(&key);
            }
            return Box::pin(async move { Ok(Map::new()) });
        }
        Box::pin(async move {
            let (child, _lease) = this.child_for(req.client()).await?;
            let shared = &child.shared;
            if req.method() == crate::listen::LISTEN {
                return listen::listen(shared, req).await;
            }
            let notifier = req.notifier().cloned();
            let declared = req.client().map(|c| c.capabilities().clone());
            let (method, params) = req.into_parts();
            exchange(shared, method.as_str(), params, notifier, declared, true).await
        })
    }
}

/// Forgets a request that is no longer awaited, and tells the server it is cancelled.
struct Forget<'a> {
    shared: &'a Shared,
    id: i64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let Ok(mut slot) = self.shared.slot.lock() else {
            return;
        };
        if let Some(link) = slot.as_mut()
            && link.pending.remove(&self.id).is_some()
            && let Some(note) = mux::cancelled(self.id)
        {
            let _ = link.send(note);
        }
    }
}

/// One request and its answer; `ready` says whether the handshake must be done first.
async fn exchange(
    shared: &Shared,
    method: &str,
    params: Map<String, Value>,
    notifier: Option<Notifier>,
    declared: Option<Value>,
    ready: bool,
) -> Result<Map<String, Value>, BoxError> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let call = Exchange::new(id, method, params, notifier, declared)?;
    {
        let mut slot = shared.slot.lock().map_err(|_| StdioError::NotRunning)?;
        let link = slot
            .as_mut()
            .filter(|l| l.ready || !ready)
            .ok_or(StdioError::NotRunning)?;
        link.pending.insert(id, call.pending);
        if let Err(e) = link.send(call.bytes) {
            link.pending.remove(&id);
            return Err(Box::new(e));
        }
    }
    let _forget = Forget { shared, id };
    match tokio::time::timeout(shared.config.request_timeout, call.answer).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Err(Box::new(StdioError::Exited)),
        Err(_) => Err(Box::new(StdioError::Timeout)),
    }
}
