//! The resource subscriptions of legacy sessions (`resources/subscribe`), kept in memory with
//! a bound on sessions and on URIs per session, and watched by each session's GET stream.
//!
//! A session id is sealed and stateless; its subscriptions are not, so they live on the
//! replica that took them. An entry goes when its session expires (purged when room is
//! needed) or is deleted.
//!
//! A session has one GET stream at a time: a new one ends the one before (the spec allows
//! no message on two streams, and a client reconnecting must not be locked out by a stream
//! whose connection has not been seen to die yet).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;

use tokio::sync::watch;

/// The most sessions with subscriptions held at once.
pub(crate) const MAX_SESSIONS: usize = 10_000;
/// The most URIs one session may subscribe to.
pub(crate) const MAX_URIS_PER_SESSION: usize = 256;

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Too many sessions hold subscriptions.
    Sessions,
    /// The session holds too many subscriptions.
    Uris,
}

/// What a session's GET stream watches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watched {
    /// Which GET stream is the session's current one.
    pub(crate) stream: u64,
    /// The subscribed URIs.
    pub(crate) uris: BTreeSet<String>,
}

struct Entry {
    expires: u64,
    uris: watch::Sender<Watched>,
}

/// Every session's subscribed URIs (client-facing form).
#[derive(Default)]
pub(crate) struct Subscriptions {
    sessions: Mutex<HashMap<String, Entry>>,
}

impl fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.sessions.lock().map_or(0, |s| s.len());
        f.debug_struct("Subscriptions")
            .field("sessions", &n)
            .finish()
    }
}

fn entry<'a>(
    map: &'a mut HashMap<String, Entry>,
    session: &str,
    expires: u64,
    now: u64,
) -> Result<&'a mut Entry, Refused> {
    if !map.contains_key(session) {
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| e.expires > now);
        }
        if map.len() >= MAX_SESSIONS {
            return Err(Refused::Sessions);
        }
        let entry = Entry {
            expires,
            uris: watch::channel(Watched::default()).0,
        };
        map.insert(session.to_owned(), entry);
    }
    map.get_mut(session).ok_or(Refused::Sessions)
}

impl Subscriptions {
    /// Subscribes `session` (expiring at `expires`, Unix seconds) to `uri`.
    pub(crate) fn subscribe(
        &self,
        session: &str,
        expires: u64,
        now: u64,
        uri: &str,
    ) -> Result<(), Refused> {
        let mut map = self.sessions.lock().map_err(|_| Refused::Sessions)?;
        let entry = entry(&mut map, session, expires, now)?;
        let mut refused = None;
        entry.uris.send_if_modified(|Watched { uris, .. }| {
            if uris.contains(uri) {
                false
            } else if uris.len() >= MAX_URIS_PER_SESSION {
                refused = Some(Refused::Uris);
                false
            } else {
                uris.insert(uri.to_owned())
            }
        });
        refused.map_or(Ok(()), Err)
    }

    /// Ends `session`'s subscription to `uri`, if it had one.
    pub(crate) fn unsubscribe(&self, session: &str, uri: &str) {
        if let Ok(map) = self.sessions.lock()
            && let Some(entry) = map.get(session)
        {
            entry
                .uris
                .send_if_modified(|Watched { uris, .. }| uris.remove(uri));
        }
    }

    /// Opens the session's GET stream, ending the one before: the session's URIs, now and as
    /// they change, and the stream's number; `None` when no room is left to track it.
    pub(crate) fn open_stream(
        &self,
        session: &str,
        expires: u64,
        now: u64,
    ) -> Option<(watch::Receiver<Watched>, u64)> {
        let mut map = self.sessions.lock().ok()?;
        let entry = entry(&mut map, session, expires, now).ok()?;
        entry.uris.send_modify(|w| w.stream += 1);
        let mut rx = entry.uris.subscribe();
        let stream = rx.borrow_and_update().stream;
        Some((rx, stream))
    }

    /// Forgets a deleted session.
    pub(crate) fn forget(&self, session: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            map.remove(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_per_session_and_in_sessions() {
        let subs = Subscriptions::default();
        let (mut watched, first) = subs.open_stream("s", 100, 0).unwrap();
        for i in 0..MAX_URIS_PER_SESSION {
            subs.subscribe("s", 100, 0, &format!("a+u{i}")).unwrap();
        }
        assert!(watched.has_changed().unwrap());
        assert_eq!(watched.borrow_and_update().uris.len(), MAX_URIS_PER_SESSION);
        assert_eq!(subs.subscribe("s", 100, 0, "a+more"), Err(Refused::Uris));
        // Subscribing twice changes nothing.
        subs.subscribe("s", 100, 0, "a+u0").unwrap();
        assert!(!watched.has_changed().unwrap());
        subs.unsubscribe("s", "a+u0");
        assert!(!watched.borrow_and_update().uris.contains("a+u0"));
        // A second GET stream: the first sees it is no longer the session's.
        let (_, second) = subs.open_stream("s", 100, 0).unwrap();
        assert!(watched.has_changed().unwrap());
        assert_eq!(watched.borrow_and_update().stream, second);
        assert_ne!(first, second);

        for i in 1..MAX_SESSIONS {
            subs.subscribe(&format!("s{i}"), 10, 0, "a+x").unwrap();
        }
        assert_eq!(subs.subscribe("new", 100, 5, "a+x"), Err(Refused::Sessions));
        // Once the others have expired, their room is taken back.
        subs.subscribe("new", 100, 10, "a+x").unwrap();
        subs.forget("new");
        assert!(subs.open_stream("s", 100, 10).is_some());
    }
}
