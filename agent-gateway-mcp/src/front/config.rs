//! The front's settings, built once and shared by every clone of the front.

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::SystemClock;
use http::HeaderValue;
use serde_json::{Map, Value, json};

use crate::session::pending::Pending;
use crate::session::subscriptions::Subscriptions;
use crate::session::{Sealer, SessionError, SessionKey, SessionState};

/// The most legacy sessions whose `logging/setLevel` is remembered on one replica.
const MAX_LOG_LEVELS: usize = 65_536;

/// Legacy requests in flight, by session and JSON-RPC id, each with the trigger that cancels
/// it. An entry lives as long as its request (see [`InflightGuard`]).
#[derive(Debug, Default)]
pub(crate) struct Inflight(
    std::sync::Mutex<std::collections::HashMap<(String, String), tokio::sync::oneshot::Sender<()>>>,
);

/// Removes a request's entry when the request ends, however it ends.
#[derive(Debug)]
pub(crate) struct InflightGuard {
    table: Arc<Inflight>,
    key: (String, String),
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock() {
            m.remove(&self.key);
        }
    }
}

impl Inflight {
    /// Registers request `id` of `session`: the receiver fires when the client cancels it.
    /// `None` when that id is already in flight on the session (the first one keeps it).
    pub(crate) fn register(
        table: &Arc<Inflight>,
        session: &str,
        id: &str,
    ) -> Option<(InflightGuard, tokio::sync::oneshot::Receiver<()>)> {
        let key = (session.to_owned(), id.to_owned());
        let mut m = table.0.lock().ok()?;
        if m.contains_key(&key) {
            return None;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        m.insert(key.clone(), tx);
        let guard = InflightGuard {
            table: table.clone(),
            key,
        };
        Some((guard, rx))
    }

    /// Cancels request `id` of `session`, if it is in flight. Unknown ids are ignored.
    pub(crate) fn cancel(&self, session: &str, id: &str) -> bool {
        let key = (session.to_owned(), id.to_owned());
        let tx = self.0.lock().ok().and_then(|mut m| m.remove(&key));
        tx.is_some_and(|tx| tx.send(()).is_ok())
    }
}

/// The most ended sessions remembered on one replica.
const MAX_REVOKED: usize = 65_536;

/// Session ids ended with DELETE, each remembered until it would have expired anyway. In
/// memory on this replica: another replica still accepts the id until it expires.
#[derive(Debug, Default)]
pub(crate) struct Revoked(std::sync::Mutex<std::collections::HashMap<String, u64>>);

impl Revoked {
    /// Ends `id`, which expires at `expires` (unix seconds); `now` is the time now. False when
    /// the table is full of live entries.
    pub(crate) fn revoke(&self, id: &str, expires: u64, now: u64) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return false;
        };
        if m.len() >= MAX_REVOKED {
            m.retain(|_, exp| *exp > now);
        }
        if m.len() >= MAX_REVOKED {
            return false;
        }
        m.insert(id.to_owned(), expires);
        true
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.0.lock().is_ok_and(|m| m.contains_key(id))
    }
}

/// The log level each legacy session asked for, in memory on this replica (a session that
/// moves to another replica falls back to every level until it sets one there).
#[derive(Debug, Default)]
pub(crate) struct LogLevels(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl LogLevels {
    pub(crate) fn set(&self, session: &str, level: &str) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= MAX_LOG_LEVELS && !m.contains_key(session) {
                m.clear();
            }
            m.insert(session.to_owned(), level.to_owned());
        }
    }

    pub(crate) fn get(&self, session: &str) -> Option<String> {
        self.0.lock().ok().and_then(|m| m.get(session).cloned())
    }

    pub(crate) fn forget(&self, session: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(session);
        }
    }
}

/// The default request body limit: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// What the front advertises by default (see [`FrontConfig::with_capabilities`]).
fn default_capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "prompts": {"listChanged": true},
        "resources": {"listChanged": true, "subscribe": true},
        "completions": {},
        "logging": {},
    })
}

/// How the front serves: its identity, which eras, the security checks.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    pub(crate) server_name: String,
    pub(crate) server_version: String,
    pub(crate) instructions: Option<String>,
    pub(crate) capabilities: Value,
    pub(crate) allowed_origins: Vec<HeaderValue>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) max_body: usize,
    pub(crate) modern: bool,
    pub(crate) legacy: bool,
    pub(crate) sealer: Arc<Sealer>,
    pub(crate) www_authenticate: Option<HeaderValue>,
    /// Server→client requests waiting for legacy clients' answers (shared by clones).
    pub(crate) pending: Arc<Pending>,
    /// Log levels legacy sessions set with `logging/setLevel` (shared by clones).
    pub(crate) log_levels: Arc<LogLevels>,
    /// Session ids ended with DELETE on this replica, until they expire (shared by clones).
    pub(crate) revoked: Arc<Revoked>,
    /// Legacy requests in flight on this replica, cancellable by their session.
    pub(crate) inflight: Arc<Inflight>,
    /// Legacy answer streams a client may resume with `Last-Event-ID`, on this replica.
    pub(crate) resumable: Arc<crate::session::resume::Resumable>,
    /// Legacy sessions' resource subscriptions on this replica, watched by their GET streams.
    pub(crate) subscriptions: Arc<Subscriptions>,
}

impl FrontConfig {
    /// A front named `server_name`/`server_version`, serving both eras, with a random session
    /// key (see [`with_session_key`](Self::with_session_key)), sessions living one hour, no
    /// browser origin allowed and a 4 MiB body limit.
    pub fn new(
        server_name: impl Into<String>,
        server_version: impl Into<String>,
    ) -> Result<Self, SessionError> {
        Ok(FrontConfig {
            server_name: server_name.into(),
            server_version: server_version.into(),
            instructions: None,
            capabilities: default_capabilities(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            modern: true,
            legacy: true,
            sealer: Arc::new(Sealer::new(
                SessionKey::random()?,
                Duration::from_secs(3600),
                SystemClock::shared(),
            )),
            www_authenticate: None,
            pending: Arc::default(),
            log_levels: Arc::default(),
            revoked: Arc::default(),
            inflight: Arc::default(),
            resumable: Arc::default(),
            subscriptions: Arc::default(),
        })
    }

    /// Seals legacy session ids with `sealer`. Give every replica the same key so that any of
    /// them serves any session.
    pub fn with_session_key(mut self, sealer: Sealer) -> Self {
        self.sealer = Arc::new(sealer);
        self
    }

    /// Allows requests carrying one of these `Origin` values. Requests with no `Origin` (not
    /// from a browser) are always allowed; any other origin is answered 403, which stops DNS
    /// rebinding attacks from a web page.
    pub fn with_allowed_origins(mut self, origins: impl IntoIterator<Item = HeaderValue>) -> Self {
        self.allowed_origins = origins.into_iter().collect();
        self
    }

    /// Accepts only requests whose `Host` is one of these (`host:port`, or `host:*` for any
    /// port): the other half of DNS-rebinding protection, for a gateway bound to a local or
    /// private address. Others are answered 403. With none configured (the default), `Host` is
    /// not checked.
    pub fn with_allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        hosts: I,
    ) -> Self {
        self.allowed_hosts = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// Refuses request bodies larger than `bytes` with 413.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Turns the modern (2026-07-28) era on or off.
    pub fn with_modern(mut self, on: bool) -> Self {
        self.modern = on;
        self
    }

    /// Turns the legacy (2025-11-25 and earlier) era on or off.
    pub fn with_legacy(mut self, on: bool) -> Self {
        self.legacy = on;
        self
    }

    /// Sets the instructions returned by `server/discover` and `initialize`.
    pub fn with_instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Sets the server capabilities advertised. The default names tools, prompts and
    /// resources with `listChanged`, resource `subscribe`, completions and logging: the front
    /// serves `subscriptions/listen`, the legacy GET stream and `resources/subscribe`, and the
    /// [`Federation`](crate::router::federation::Federation) relays them from its upstreams. An inner
    /// service that relays no change notifications should advertise less.
    pub fn with_capabilities(mut self, capabilities: Value) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// The `WWW-Authenticate` challenge sent with 401 answers (RFC 9728 resource metadata).
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    /// Opens a legacy session id: its state, unless it is forged, tampered, expired or ended.
    pub(crate) fn session(&self, id: &str) -> Option<SessionState> {
        let state = self.sealer.open(id).ok()?;
        (!self.revoked.contains(id)).then_some(state)
    }

    pub(crate) fn server_info(&self) -> Value {
        json!({"name": self.server_name, "version": self.server_version})
    }

    pub(crate) fn discover_result(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("resultType".into(), json!("complete"));
        m.insert(
            "supportedVersions".into(),
            json!([crate::era::MODERN_VERSION]),
        );
        m.insert("capabilities".into(), self.capabilities.clone());
        if let Some(i) = &self.instructions {
            m.insert("instructions".into(), json!(i));
        }
        m.insert("ttlMs".into(), json!(0));
        m.insert("cacheScope".into(), json!("private"));
        m
    }
}
