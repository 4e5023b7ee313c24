//! The live tables a front keeps for legacy sessions, out of its settings: sessions ended
//! with DELETE, the log level each set, server→client requests waiting for an answer, requests
//! in flight (cancellable), answer streams a client may resume, and resource subscriptions.
//!
//! Each table is bounded and lives in memory on this replica. A [`SessionStore`] is shared by
//! every clone of the front that owns it (see [`McpFront::with_session_store`](crate::McpFront::with_session_store)).

use std::fmt;
use std::sync::Arc;

pub(crate) use super::bounded::{LogLevels, Revoked};
use super::pending::PendingRequests;
use super::resume::Resumable;
use super::subscriptions::Subscriptions;
use super::{Sealer, SessionState};

/// Legacy requests in flight, by session and JSON-RPC id, each with the trigger that cancels
/// it. An entry lives as long as its request (see [`CancelGuard`]).
#[derive(Debug, Default)]
pub(crate) struct Cancels(
    std::sync::Mutex<std::collections::HashMap<(String, String), tokio::sync::oneshot::Sender<()>>>,
);

/// Removes a request's entry when the request ends, however it ends.
#[derive(Debug)]
pub(crate) struct CancelGuard {
    table: Arc<Cancels>,
    key: (String, String),
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock() {
            m.remove(&self.key);
        }
    }
}

impl Cancels {
    /// Registers request `id` of `session`: the receiver fires when the client cancels it.
    /// `None` when that id is already in flight on the session (the first one keeps it).
    pub(crate) fn register(
        table: &Arc<Cancels>,
        session: &str,
        id: &str,
    ) -> Option<(CancelGuard, tokio::sync::oneshot::Receiver<()>)> {
        let key = (session.to_owned(), id.to_owned());
        let mut m = table.0.lock().ok()?;
        if m.contains_key(&key) {
            return None;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        m.insert(key.clone(), tx);
        let guard = CancelGuard {
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

/// How full one of a [`SessionStore`]'s tables is (see [`SessionStore::fill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableFill {
    /// The table's name: `pending`, `log_levels`, `revoked`, `cancels`, `resumable` or
    /// `subscriptions`.
    pub name: &'static str,
    /// How many entries it holds now.
    pub entries: usize,
    /// How many it may hold in all, when it has a bound of its own.
    pub capacity: Option<usize>,
}

impl TableFill {
    fn new(name: &'static str, entries: usize, capacity: Option<usize>) -> Self {
        TableFill {
            name,
            entries,
            capacity,
        }
    }
}

/// The live tables of the legacy sessions one front serves (see the module docs).
#[derive(Default)]
pub struct SessionStore {
    /// Server→client requests waiting for legacy clients' answers.
    pub(crate) pending: PendingRequests,
    /// Log levels legacy sessions set with `logging/setLevel`.
    pub(crate) log_levels: LogLevels,
    /// Session ids ended with DELETE on this replica, until they expire.
    pub(crate) revoked: Revoked,
    /// Legacy requests in flight on this replica, cancellable by their session.
    pub(crate) cancels: Arc<Cancels>,
    /// Legacy answer streams a client may resume with `Last-Event-ID`, on this replica.
    pub(crate) resumable: Arc<Resumable>,
    /// Legacy sessions' resource subscriptions on this replica, watched by their GET streams.
    pub(crate) subscriptions: Subscriptions,
    /// The bounds of the tables above.
    pub(crate) limits: super::SessionLimits,
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    /// An empty store.
    pub fn new() -> Self {
        SessionStore::default()
    }

    /// How full each table is now, with its bound (for metrics): `pending` (server→client
    /// requests waiting for an answer), `log_levels`, `revoked` (sessions ended with DELETE),
    /// `cancels` (requests in flight; as many as the front admits, so no bound of its own),
    /// `resumable` (answer streams a client may resume) and `subscriptions` (sessions holding
    /// resource subscriptions). Each table is locked only while it is counted.
    ///
    /// ```
    /// use agent_gateway_mcp::session::{SessionLimits, SessionStore};
    ///
    /// let store = SessionStore::with_limits(SessionLimits::default().with_pending(100, 10));
    /// let fill = store.fill();
    /// let pending = fill.iter().find(|t| t.name == "pending").unwrap();
    /// assert_eq!((pending.entries, pending.capacity), (0, Some(100)));
    /// let cancels = fill.iter().find(|t| t.name == "cancels").unwrap();
    /// assert_eq!(cancels.capacity, None);
    /// assert_eq!(fill.len(), 6);
    /// ```
    pub fn fill(&self) -> Vec<TableFill> {
        let l = &self.limits;
        let cancels = self.cancels.0.lock().map_or(0, |m| m.len());
        vec![
            TableFill::new("pending", self.pending.len(), Some(l.pending.0)),
            TableFill::new("log_levels", self.log_levels.len(), Some(l.log_levels.0)),
            TableFill::new("revoked", self.revoked.len(), Some(l.revoked.0)),
            TableFill::new("cancels", cancels, None),
            TableFill::new(
                "resumable",
                self.resumable.usage().0,
                Some(l.resumable.streams),
            ),
            TableFill::new(
                "subscriptions",
                self.subscriptions.len(),
                Some(l.subscriptions.sessions),
            ),
        ]
    }

    /// Opens a legacy session id with `sealer`: its state, unless it is forged, tampered,
    /// expired or ended.
    pub(crate) fn open(&self, sealer: &Sealer, id: &str) -> Option<SessionState> {
        let state = sealer.open(id).ok()?;
        (!self.revoked.contains(id)).then_some(state)
    }
}
