//! The resource subscriptions of legacy sessions (`resources/subscribe`), kept in memory and
//! watched by each session's GET stream.
//!
//! A session id is sealed and stateless; its subscriptions are not, so they live on the
//! replica that took them. What is kept is bounded: a URI is at most [`MAX_URI_BYTES`], a
//! session holds at most [`MAX_URIS_PER_SESSION`] URIs, one owner at most
//! [`MAX_SESSIONS_PER_OWNER`] sessions with subscriptions and the replica at most
//! [`MAX_SESSIONS`]. An entry goes when its session expires (purged on every change, in
//! expiry order) or is deleted. A caller over its share is refused with a clear error while
//! the others still subscribe.
//!
//! A session has one GET stream at a time: a new one ends the one before (the spec allows
//! no message on two streams, and a client reconnecting must not be locked out by a stream
//! whose connection has not been seen to die yet).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;

use tokio::sync::watch;

use super::share::OwnerKey;

/// The most sessions with subscriptions held at once on one replica.
pub(crate) const MAX_SESSIONS: usize = 10_000;
/// The most sessions with subscriptions one owner holds: enough for an agent fleet behind one
/// key, a small part of [`MAX_SESSIONS`].
pub(crate) const MAX_SESSIONS_PER_OWNER: usize = 64;
/// The most URIs one session may subscribe to.
pub(crate) const MAX_URIS_PER_SESSION: usize = 256;
/// The longest URI a session may subscribe to, in bytes: far above any real resource URI, and
/// it bounds a session's subscriptions to half a MiB.
pub(crate) const MAX_URI_BYTES: usize = 2048;

/// How many subscriptions a replica keeps (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) sessions: usize,
    pub(crate) sessions_per_owner: usize,
    pub(crate) uris_per_session: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sessions: MAX_SESSIONS,
            sessions_per_owner: MAX_SESSIONS_PER_OWNER,
            uris_per_session: MAX_URIS_PER_SESSION,
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Too many sessions hold subscriptions.
    Sessions,
    /// Too many of this owner's sessions hold subscriptions.
    Owner,
    /// The session holds too many subscriptions.
    Uris,
    /// The URI is longer than [`MAX_URI_BYTES`].
    UriTooLong,
}

impl Refused {
    /// What the client is told.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refused::Sessions => "no room for another session's subscriptions",
            Refused::Owner => "too many of this caller's sessions hold subscriptions",
            Refused::Uris => "too many subscriptions in this session",
            Refused::UriTooLong => "resource URI too long to subscribe to",
        }
    }

    /// What the client is told, with the bound that refused it.
    pub(crate) fn detail(self, limits: &Limits) -> String {
        let bound = match self {
            Refused::Sessions => limits.sessions,
            Refused::Owner => limits.sessions_per_owner,
            Refused::Uris => limits.uris_per_session,
            Refused::UriTooLong => MAX_URI_BYTES,
        };
        let unit = if self == Refused::UriTooLong {
            " bytes"
        } else {
            ""
        };
        format!("{} (at most {bound}{unit})", self.message())
    }
}

/// Whether a URI may be subscribed to at all (checked before the upstream is asked).
pub(crate) fn check_uri(uri: &str) -> Result<(), Refused> {
    if uri.len() > MAX_URI_BYTES {
        return Err(Refused::UriTooLong);
    }
    Ok(())
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
    owner: OwnerKey,
    uris: watch::Sender<Watched>,
}

#[derive(Default)]
struct Table {
    sessions: HashMap<String, Entry>,
    /// The sessions by expiry, for purging the expired ones in order.
    expiry: BTreeSet<(u64, String)>,
    /// How many sessions each owner holds.
    owners: HashMap<OwnerKey, usize>,
}

impl Table {
    fn remove(&mut self, session: &str) {
        if let Some(e) = self.sessions.remove(session) {
            self.expiry.remove(&(e.expires, session.to_owned()));
            if let Some(n) = self.owners.get_mut(&e.owner) {
                *n -= 1;
                if *n == 0 {
                    self.owners.remove(&e.owner);
                }
            }
        }
    }

    /// Forgets every session expired at `now`.
    fn purge(&mut self, now: u64) {
        while let Some((expires, session)) = self.expiry.first().cloned()
            && expires <= now
        {
            self.remove(&session);
        }
    }

    fn entry(
        &mut self,
        limits: &Limits,
        session: &str,
        owner: OwnerKey,
        expires: u64,
        now: u64,
    ) -> Result<&mut Entry, Refused> {
        self.purge(now);
        if !self.sessions.contains_key(session) {
            if self.owners.get(&owner).copied().unwrap_or(0) >= limits.sessions_per_owner {
                return Err(Refused::Owner);
            }
            if self.sessions.len() >= limits.sessions {
                return Err(Refused::Sessions);
            }
            let entry = Entry {
                expires,
                owner,
                uris: watch::channel(Watched::default()).0,
            };
            self.sessions.insert(session.to_owned(), entry);
            self.expiry.insert((expires, session.to_owned()));
            *self.owners.entry(owner).or_default() += 1;
        }
        self.sessions.get_mut(session).ok_or(Refused::Sessions)
    }
}

/// Every session's subscribed URIs (client-facing form).
#[derive(Default)]
pub(crate) struct Subscriptions {
    table: Mutex<Table>,
    limits: Limits,
}

impl fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriptions")
            .field("sessions", &self.len())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Subscriptions {
    /// A table within `limits`.
    pub(crate) fn new(limits: Limits) -> Self {
        Subscriptions {
            limits,
            ..Subscriptions::default()
        }
    }

    /// How many sessions hold subscriptions (or a GET stream) now.
    pub(crate) fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.sessions.len())
    }

    /// Subscribes `session` of `owner` (expiring at `expires`, Unix seconds) to `uri`.
    pub(crate) fn subscribe(
        &self,
        session: &str,
        owner: OwnerKey,
        expires: u64,
        now: u64,
        uri: &str,
    ) -> Result<(), Refused> {
        check_uri(uri)?;
        let mut table = self.table.lock().map_err(|_| Refused::Sessions)?;
        let entry = table.entry(&self.limits, session, owner, expires, now)?;
        let max = self.limits.uris_per_session;
        let mut refused = None;
        entry.uris.send_if_modified(|Watched { uris, .. }| {
            if uris.contains(uri) {
                false
            } else if uris.len() >= max {
                refused = Some(Refused::Uris);
                false
            } else {
                uris.insert(uri.to_owned())
            }
        });
        refused.map_or(Ok(()), Err)
    }

    /// Whether [`subscribe`](Self::subscribe) would find room for `uri` on `session` of
    /// `owner` now, without recording anything: asked before the upstream is, so that a caller
    /// past its share is refused without leaving a subscription upstream. `subscribe` checks
    /// again (a concurrent subscribe may take the room in between).
    pub(crate) fn room(
        &self,
        session: &str,
        owner: OwnerKey,
        now: u64,
        uri: &str,
    ) -> Result<(), Refused> {
        check_uri(uri)?;
        let mut table = self.table.lock().map_err(|_| Refused::Sessions)?;
        table.purge(now);
        match table.sessions.get(session) {
            Some(entry) => {
                let uris = &entry.uris.borrow().uris;
                if uris.contains(uri) || uris.len() < self.limits.uris_per_session {
                    Ok(())
                } else {
                    Err(Refused::Uris)
                }
            }
            None if table.owners.get(&owner).copied().unwrap_or(0)
                >= self.limits.sessions_per_owner =>
            {
                Err(Refused::Owner)
            }
            None if table.sessions.len() >= self.limits.sessions => Err(Refused::Sessions),
            None => Ok(()),
        }
    }

    /// Ends `session`'s subscription to `uri`, if it had one.
    pub(crate) fn unsubscribe(&self, session: &str, uri: &str) {
        if let Ok(table) = self.table.lock()
            && let Some(entry) = table.sessions.get(session)
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
        owner: OwnerKey,
        expires: u64,
        now: u64,
    ) -> Option<(watch::Receiver<Watched>, u64)> {
        let mut table = self.table.lock().ok()?;
        let entry = table
            .entry(&self.limits, session, owner, expires, now)
            .ok()?;
        entry.uris.send_modify(|w| w.stream += 1);
        let mut rx = entry.uris.subscribe();
        let stream = rx.borrow_and_update().stream;
        Some((rx, stream))
    }

    /// Forgets a deleted session.
    pub(crate) fn forget(&self, session: &str) {
        if let Ok(mut table) = self.table.lock() {
            table.remove(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: OwnerKey = [1; 16];
    const B: OwnerKey = [2; 16];

    #[test]
    fn bounded_per_session_and_in_sessions() {
        let subs = Subscriptions::default();
        let (mut watched, first) = subs.open_stream("s", A, 100, 0).unwrap();
        for i in 0..MAX_URIS_PER_SESSION {
            subs.subscribe("s", A, 100, 0, &format!("a+u{i}")).unwrap();
        }
        assert!(watched.has_changed().unwrap());
        assert_eq!(watched.borrow_and_update().uris.len(), MAX_URIS_PER_SESSION);
        assert_eq!(subs.subscribe("s", A, 100, 0, "a+more"), Err(Refused::Uris));
        // Subscribing twice changes nothing.
        subs.subscribe("s", A, 100, 0, "a+u0").unwrap();
        assert!(!watched.has_changed().unwrap());
        subs.unsubscribe("s", "a+u0");
        assert!(!watched.borrow_and_update().uris.contains("a+u0"));
        // A second GET stream: the first sees it is no longer the session's.
        let (_, second) = subs.open_stream("s", A, 100, 0).unwrap();
        assert!(watched.has_changed().unwrap());
        assert_eq!(watched.borrow_and_update().stream, second);
        assert_ne!(first, second);
    }

    #[test]
    fn long_uris_are_refused() {
        let subs = Subscriptions::default();
        let long = format!("a+{}", "x".repeat(MAX_URI_BYTES));
        assert_eq!(check_uri(&long), Err(Refused::UriTooLong));
        assert_eq!(
            subs.subscribe("s", A, 100, 0, &long),
            Err(Refused::UriTooLong)
        );
        assert_eq!(subs.len(), 0, "nothing is recorded");
        subs.subscribe("s", A, 100, 0, &long[..MAX_URI_BYTES])
            .unwrap();
    }

    #[test]
    fn an_owner_over_its_share_is_refused_while_another_still_subscribes() {
        let subs = Subscriptions::new(Limits {
            sessions: 5,
            sessions_per_owner: 3,
            uris_per_session: 4,
        });
        for i in 0..3 {
            subs.subscribe(&format!("a{i}"), A, 100, 0, "x+u").unwrap();
        }
        let refused = subs.subscribe("a3", A, 100, 0, "x+u");
        assert_eq!(refused, Err(Refused::Owner));
        let refused = refused.unwrap_err();
        assert!(refused.message().contains("this caller"));
        assert!(refused.detail(&subs.limits).ends_with("(at most 3)"));
        assert!(subs.open_stream("a3", A, 100, 0).is_none());
        // Alice's own sessions still subscribe to more.
        subs.subscribe("a0", A, 100, 0, "x+v").unwrap();
        // Bob gets service up to the table's bound.
        subs.subscribe("b0", B, 100, 0, "x+u").unwrap();
        subs.subscribe("b1", B, 100, 0, "x+u").unwrap();
        assert_eq!(
            subs.subscribe("b2", B, 100, 0, "x+u"),
            Err(Refused::Sessions)
        );
        assert_eq!(subs.len(), 5, "the table stays at its bound");
        // A deleted session gives its place back to its owner.
        subs.forget("a0");
        subs.subscribe("a3", A, 100, 0, "x+u").unwrap();
    }

    #[test]
    fn room_answers_as_subscribe_would_and_records_nothing() {
        let subs = Subscriptions::new(Limits {
            sessions: 3,
            sessions_per_owner: 2,
            uris_per_session: 1,
        });
        assert_eq!(subs.room("a0", A, 0, "x+u"), Ok(()));
        assert_eq!(subs.len(), 0, "asking records nothing");
        subs.subscribe("a0", A, 100, 0, "x+u").unwrap();
        subs.subscribe("a1", A, 100, 0, "x+u").unwrap();
        // The same URI again fits; another does not (one per session); a third session of
        // alice's is past her share, while bob still has room.
        assert_eq!(subs.room("a0", A, 0, "x+u"), Ok(()));
        assert_eq!(subs.room("a0", A, 0, "x+v"), Err(Refused::Uris));
        assert_eq!(subs.room("a2", A, 0, "x+u"), Err(Refused::Owner));
        assert_eq!(subs.room("b0", B, 0, "x+u"), Ok(()));
        subs.subscribe("b0", B, 100, 0, "x+u").unwrap();
        assert_eq!(subs.room("b1", B, 0, "x+u"), Err(Refused::Sessions));
        assert_eq!(
            subs.room("b1", B, 0, &"u".repeat(MAX_URI_BYTES + 1)),
            Err(Refused::UriTooLong)
        );
        // Expired sessions make room again.
        assert_eq!(subs.room("b1", B, 100, "x+u"), Ok(()));
    }

    #[test]
    fn expired_sessions_are_purged_on_every_change_not_only_when_full() {
        let subs = Subscriptions::default();
        for i in 0..100u8 {
            let owner = [i; 16];
            subs.subscribe(&format!("s{i}"), owner, 10 + u64::from(i), 0, "a+x")
                .unwrap();
        }
        assert_eq!(subs.len(), 100);
        // One change at time 60: the 51 sessions expired by then are gone.
        subs.subscribe("new", B, 1000, 60, "a+x").unwrap();
        assert_eq!(subs.len(), 100 - 51 + 1);
        // And their owner's share is given back.
        let limits = Limits {
            sessions_per_owner: 2,
            ..Limits::default()
        };
        let subs = Subscriptions::new(limits);
        subs.subscribe("a0", A, 10, 0, "a+x").unwrap();
        subs.subscribe("a1", A, 10, 0, "a+x").unwrap();
        assert_eq!(subs.subscribe("a2", A, 100, 5, "a+x"), Err(Refused::Owner));
        subs.subscribe("a2", A, 100, 10, "a+x").unwrap();
        assert_eq!(subs.len(), 1);
    }
}
