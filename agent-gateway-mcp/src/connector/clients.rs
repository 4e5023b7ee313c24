//! The upstream sessions of one channel-per-client connector (stdio children, legacy SSE
//! connections): one per client session, or per caller, kept in a bounded table with an idle
//! expiry.
//!
//! A stdio child or a legacy SSE connection is one upstream session: whatever it sends outside
//! a call (log messages, change notifications) and every request it makes of its client
//! (sampling, elicitation, roots) belongs to that session. Shared by every client, those would
//! reach clients that never provoked them, and a request for one client could be put to
//! another. So the connectors key their sessions by [`key`]:
//!
//! - with relayed requests on, a legacy client's own session gets a session of its own,
//!   opened with that client's capabilities (so the server asks it, and only it, and shows it
//!   the tools its capabilities unlock); any other client one per caller and capability set;
//! - with relayed requests off, one session per caller: nothing a caller's calls provoke
//!   reaches another caller;
//! - with relayed requests off, a request of no known caller (no policy stack authenticates),
//!   and with them on, a request that carries no client at all (the gateway's own listings, a
//!   library's direct calls), uses the connector's one shared session, which declares no client
//!   capability (nobody could answer the server's questions on it). Every request through a
//!   front carries its client, so with relayed requests on an anonymous client still gets a
//!   table session, keyed by its capability set.
//!
//! The table holds at most [`DEFAULT_MAX_CLIENT_SESSIONS`] (configurable) sessions, of which
//! one caller at most a [`CALLER_SHARE`]th; a session with no call in flight and unused for
//! [`DEFAULT_CLIENT_SESSION_IDLE`] (configurable) is ended. A client that finds no room gets
//! [`McpError::UpstreamSessionsFull`](crate::McpError::UpstreamSessionsFull), never a shared
//! session instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::McpError;
use crate::request::ClientHop;

/// How many per-client upstream sessions (children, connections) one upstream keeps at most by
/// default: each is a process or a connection held open upstream, far heavier than an HTTP
/// session, so the default is a few dozen rather than the HTTP connector's thousand.
pub const DEFAULT_MAX_CLIENT_SESSIONS: usize = 32;

/// How long a per-client upstream session with no call in flight is kept by default: as long
/// as an idle HTTP upstream session ([`DEFAULT_SESSION_IDLE`](super::DEFAULT_SESSION_IDLE)),
/// enough for a client thinking between calls, short enough that an abandoned client's child
/// does not linger.
pub const DEFAULT_CLIENT_SESSION_IDLE: Duration = Duration::from_secs(600);

/// The part of the table one caller may hold: a quarter, so that one caller opening sessions
/// cannot take the room of three others.
pub const CALLER_SHARE: usize = 4;

/// The client capabilities an upstream session may be opened with: the ones whose requests the
/// gateway relays. Any other is not declared upstream (the server would ask what no one
/// answers).
const RELAYED: [&str; 3] = ["sampling", "elicitation", "roots"];

/// The key of a client's upstream session and the capabilities to open it with, or `None` for
/// the connector's shared session (see the module doc). Keys are digests or the client
/// session's own key (itself a digest): never a caller's name.
pub(crate) fn key(client: Option<&ClientHop>, relayed: bool) -> Option<(Arc<str>, Value)> {
    let client = client?;
    if !relayed {
        let owner = client.owner()?;
        return Some((
            Arc::from(format!("owner:{}", hex(&owner.digest()))),
            json!({}),
        ));
    }
    let declared = super::legacy::bounded_capabilities(client.capabilities());
    let caps: Map<String, Value> = RELAYED
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), declared.get(*k)?.clone())))
        .collect();
    if client.session().is_some() {
        let key = session_key(Some(client), relayed)?;
        return Some((key, Value::Object(caps)));
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match client.owner() {
        Some(o) => {
            ctx.update(b"owner:");
            ctx.update(&o.digest());
        }
        None => ctx.update(b"anonymous:"),
    }
    let caps = Value::Object(caps);
    ctx.update(caps.to_string().as_bytes());
    let key = format!("shared:{}", hex(&ctx.finish().as_ref()[..16]));
    Some((Arc::from(key), caps))
}

/// The key of a legacy client session's own upstream session, if it has one: what its end
/// (`DELETE`) ends. A caller's session, shared by its other clients, is left alone.
pub(crate) fn session_key(client: Option<&ClientHop>, relayed: bool) -> Option<Arc<str>> {
    let session = client?.session()?;
    relayed.then(|| Arc::from(format!("session:{session}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Held while a call uses a session: a session with a lease out is never idle. Dropped, it
/// marks the session used now.
#[derive(Debug)]
pub(crate) struct Lease(Arc<Mutex<Instant>>);

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut used) = self.0.lock() {
            *used = Instant::now();
        }
    }
}

struct Entry<T> {
    value: T,
    owner: Option<[u8; 16]>,
    used: Arc<Mutex<Instant>>,
}

impl<T> Entry<T> {
    fn idle(&self, now: Instant, idle: Duration) -> bool {
        // Only the table holds `used`: no call is in flight.
        Arc::strong_count(&self.used) == 1
            && self
                .used
                .lock()
                .is_ok_and(|u| now.duration_since(*u) >= idle)
    }
}

/// How full one upstream's table of per-client sessions is, read live (for metrics); made by
/// `StdioUpstream::client_sessions_fill` and [`SseUpstream::client_sessions_fill`](super::SseUpstream::client_sessions_fill).
///
/// It holds the table weakly, so it never keeps the upstream (its child processes, its
/// streams) alive: once the upstream is gone it reads 0.
#[derive(Clone)]
pub struct ClientSessionsFill {
    table: Weak<dyn Counted>,
    capacity: usize,
}

impl ClientSessionsFill {
    /// How many per-client sessions are open now (0 once the upstream is gone).
    pub fn entries(&self) -> usize {
        self.table.upgrade().map_or(0, |t| t.count())
    }

    /// The most the table holds: the configured `max_client_sessions`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl std::fmt::Debug for ClientSessionsFill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSessionsFill")
            .field("entries", &self.entries())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// A table whose entries can be counted, whatever it holds.
trait Counted: Send + Sync {
    fn count(&self) -> usize;
}

impl<T: Send> Counted for ClientTable<T> {
    fn count(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

/// The per-client sessions of one upstream, bounded, each ended with `end` when it leaves.
pub(crate) struct ClientTable<T> {
    label: String,
    max: usize,
    idle: Duration,
    end: fn(T),
    entries: Mutex<HashMap<Arc<str>, Entry<T>>>,
    reaping: Mutex<bool>,
}

impl<T> std::fmt::Debug for ClientTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTable")
            .field("max", &self.max)
            .field("idle", &self.idle)
            .field("open", &self.entries.lock().map_or(0, |e| e.len()))
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> ClientTable<T> {
    /// A table of at most `max` sessions (at least 1) kept `idle` long unused; `label` names
    /// the upstream in errors and logs.
    pub(crate) fn new(label: impl Into<String>, max: usize, idle: Duration, end: fn(T)) -> Self {
        ClientTable {
            label: label.into(),
            max: max.max(1),
            idle,
            end,
            entries: Mutex::new(HashMap::new()),
            reaping: Mutex::new(false),
        }
    }

    /// How many sessions are open.
    pub(crate) fn len(&self) -> usize {
        self.count()
    }

    /// A live, weak reading of the table's fill.
    pub(crate) fn fill(self: &Arc<Self>) -> ClientSessionsFill {
        let table: Weak<Self> = Arc::downgrade(self);
        ClientSessionsFill {
            table,
            capacity: self.max,
        }
    }

    /// The session under `key`, made with `make` when there is none and there is room; with a
    /// lease for the call. Idle sessions are ended first.
    pub(crate) fn get_or_open(
        self: &Arc<Self>,
        key: &Arc<str>,
        owner: Option<[u8; 16]>,
        make: impl FnOnce() -> T,
    ) -> Result<(T, Lease), McpError> {
        let now = Instant::now();
        let (found, gone, made) = {
            let mut entries = self.entries.lock().map_err(|_| self.full())?;
            let gone = take_idle(&mut entries, now, self.idle);
            let made = !entries.contains_key(key);
            if made {
                let held = entries
                    .values()
                    .filter(|e| owner.is_some() && e.owner == owner)
                    .count();
                if entries.len() >= self.max || held >= (self.max / CALLER_SHARE).max(1) {
                    drop(entries);
                    self.end_all(gone);
                    tracing::warn!(upstream = %self.label, max = self.max, "mcp: no room for another client session");
                    return Err(self.full());
                }
                let entry = Entry {
                    value: make(),
                    owner,
                    used: Arc::new(Mutex::new(now)),
                };
                entries.insert(key.clone(), entry);
            }
            let entry = entries.get(key).ok_or_else(|| self.full())?;
            if let Ok(mut used) = entry.used.lock() {
                *used = now;
            }
            let found = (entry.value.clone(), Lease(entry.used.clone()));
            (found, gone, made)
        };
        self.end_all(gone);
        if made {
            self.reap_later();
        }
        Ok(found)
    }

    /// Ends the session under `key`, if open: its client session ended.
    pub(crate) fn remove(&self, key: &str) -> bool {
        let gone = self
            .entries
            .lock()
            .ok()
            .and_then(|mut e| e.remove(key))
            .map(|e| e.value);
        let found = gone.is_some();
        self.end_all(gone);
        found
    }

    /// Ends every session (the connector shuts down); the sessions taken out.
    #[cfg_attr(not(feature = "stdio"), allow(dead_code))] // the stdio connector's
    pub(crate) fn drain(&self) -> Vec<T> {
        self.entries
            .lock()
            .map(|mut e| e.drain().map(|(_, e)| e.value).collect())
            .unwrap_or_default()
    }

    fn full(&self) -> McpError {
        McpError::UpstreamSessionsFull {
            upstream: self.label.clone(),
            limit: self.max,
        }
    }

    fn end_all(&self, gone: impl IntoIterator<Item = T>) {
        for value in gone {
            (self.end)(value);
        }
    }

    /// Starts the task that ends idle sessions while any is open (one at a time), so that an
    /// abandoned client's session ends without another client's call.
    fn reap_later(self: &Arc<Self>) {
        {
            let Ok(mut reaping) = self.reaping.lock() else {
                return;
            };
            if *reaping {
                return;
            }
            *reaping = true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let table: Weak<Self> = Arc::downgrade(self);
        let every = (self.idle / 2).max(Duration::from_millis(10));
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(table) = table.upgrade() else { return };
                let (gone, empty) = match table.entries.lock() {
                    Ok(mut entries) => {
                        let gone = take_idle(&mut entries, Instant::now(), table.idle);
                        (gone, entries.is_empty())
                    }
                    Err(_) => return,
                };
                table.end_all(gone);
                if empty {
                    if let Ok(mut reaping) = table.reaping.lock() {
                        *reaping = false;
                    }
                    return;
                }
            }
        });
    }
}

/// Takes out the sessions idle for `idle` or longer.
fn take_idle<T>(entries: &mut HashMap<Arc<str>, Entry<T>>, now: Instant, idle: Duration) -> Vec<T> {
    let keys: Vec<Arc<str>> = entries
        .iter()
        .filter(|(_, e)| e.idle(now, idle))
        .map(|(k, _)| k.clone())
        .collect();
    keys.iter()
        .filter_map(|k| entries.remove(k))
        .map(|e| e.value)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::request::Owner;
    use agent_gateway_core::Caller;

    static ENDED: AtomicUsize = AtomicUsize::new(0);

    fn table(max: usize) -> Arc<ClientTable<u32>> {
        Arc::new(ClientTable::new("up", max, Duration::from_secs(60), |_| {
            ENDED.fetch_add(1, Ordering::SeqCst);
        }))
    }

    fn hop(owner: &str) -> ClientHop {
        ClientHop::new(json!({"roots": {}, "x-vendor": {}}), None)
            .with_owner(Some(Owner::of(&Caller::new(owner))))
    }

    #[test]
    fn sessions_are_keyed_by_client_session_or_by_caller_never_shared_across_callers() {
        let (a, b) = (hop("alice"), hop("bob"));
        // Relayed: a legacy client's own session, opened with what it declared that is relayed.
        let (k, caps) = key(Some(&a.clone().with_session("s1")), true).unwrap();
        assert_eq!(&*k, "session:s1");
        assert_eq!(caps, json!({"roots": {}}));
        // Others: per caller (and capability set).
        let (ka, _) = key(Some(&a), true).unwrap();
        let (kb, _) = key(Some(&b), true).unwrap();
        assert_ne!(ka, kb);
        assert!(!ka.contains("alice"), "a digest, not the caller's name");
        let anonymous = ClientHop::default();
        assert!(key(Some(&anonymous), true).is_some());
        // Not relayed: per caller, declaring nothing; no caller and no client: the shared one.
        let (ka, caps) = key(Some(&a.clone().with_session("s1")), false).unwrap();
        assert_eq!(caps, json!({}));
        assert_ne!(ka, key(Some(&b), false).unwrap().0);
        assert!(key(Some(&anonymous), false).is_none());
        assert!(key(None, true).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_is_bounded_per_caller_and_in_all_and_ends_idle_sessions() {
        let t = table(4);
        let key = |s: &str| Arc::<str>::from(s);
        let (alice, bob) = (Some([1; 16]), Some([2; 16]));
        // One caller holds a quarter: one session.
        let (v, lease) = t.get_or_open(&key("a1"), alice, || 1).unwrap();
        assert_eq!(v, 1);
        let err = t.get_or_open(&key("a2"), alice, || 2).unwrap_err();
        assert!(
            matches!(err, McpError::UpstreamSessionsFull { limit: 4, .. }),
            "{err}"
        );
        // The same key is found again, not made.
        assert_eq!(t.get_or_open(&key("a1"), alice, || 9).unwrap().0, 1);
        t.get_or_open(&key("b1"), bob, || 3).unwrap();
        t.get_or_open(&key("n1"), None, || 4).unwrap();
        t.get_or_open(&key("n2"), None, || 5).unwrap();
        assert!(t.get_or_open(&key("n3"), None, || 6).is_err(), "full");
        assert_eq!(t.len(), 4);
        let fill = t.fill();
        assert_eq!((fill.entries(), fill.capacity()), (4, 4));
        // Ended by its client session.
        let before = ENDED.load(Ordering::SeqCst);
        assert!(t.remove("b1"));
        assert!(!t.remove("b1"));
        assert_eq!(ENDED.load(Ordering::SeqCst), before + 1);
        // Idle ones end, but not one with a call in flight.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(t.len(), 1, "only the session with a lease out is left");
        drop(lease);
        tokio::time::sleep(Duration::from_secs(121)).await;
        assert_eq!(t.len(), 0);
        assert_eq!(fill.entries(), 0);
        // The reading does not keep the table: gone with its upstream, it reads 0.
        t.get_or_open(&key("a1"), alice, || 1).unwrap();
        assert_eq!(fill.entries(), 1);
        drop(t);
        assert_eq!(fill.entries(), 0);
    }
}
