//! Two small per-session tables of a [`SessionStore`](super::SessionStore), bounded per owner
//! and in all: the sessions ended with DELETE (which fail closed when full) and the log level
//! each session set (which evict the oldest entry, never everything).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::share::OwnerKey;

/// The most ended sessions remembered on one replica. Each stays until it would have expired
/// anyway (at most the session lifetime), so this is the DELETE rate a replica sustains.
pub(crate) const MAX_REVOKED: usize = 65_536;
/// The most ended sessions remembered for one owner: a client ending a session a second for
/// a one-hour session lifetime, well below [`MAX_REVOKED`].
pub(crate) const MAX_REVOKED_PER_OWNER: usize = 4096;
/// The most legacy sessions whose `logging/setLevel` is remembered on one replica.
pub(crate) const MAX_LOG_LEVELS: usize = 65_536;
/// The most sessions of one owner whose log level is remembered; past it the owner's oldest
/// setting goes (that session then gets every level again).
pub(crate) const MAX_LOG_LEVELS_PER_OWNER: usize = 1024;

/// Counts entries per owner.
#[derive(Debug, Default)]
struct Counts(HashMap<OwnerKey, usize>);

impl Counts {
    fn get(&self, owner: &OwnerKey) -> usize {
        self.0.get(owner).copied().unwrap_or(0)
    }

    fn add(&mut self, owner: OwnerKey) {
        *self.0.entry(owner).or_default() += 1;
    }

    fn sub(&mut self, owner: &OwnerKey) {
        if let Some(n) = self.0.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(owner);
            }
        }
    }
}

#[derive(Debug, Default)]
struct RevokedTable {
    /// Session id → (owner, expiry in Unix seconds).
    ids: HashMap<String, (OwnerKey, u64)>,
    /// The ids by expiry, to forget the expired ones in order.
    expiry: BTreeMap<(u64, String), ()>,
    owners: Counts,
}

/// Session ids ended with DELETE, each remembered until it would have expired anyway. In
/// memory on this replica: another replica still accepts the id until it expires.
///
/// Forgetting an ended session would bring it back to life, so a full table (for the owner or
/// in all) refuses the next DELETE instead: the client is told its session was not ended.
#[derive(Debug)]
pub(crate) struct Revoked {
    table: Mutex<RevokedTable>,
    max: usize,
    per_owner: usize,
}

impl Default for Revoked {
    fn default() -> Self {
        Revoked::new(MAX_REVOKED, MAX_REVOKED_PER_OWNER)
    }
}

impl Revoked {
    /// A table of `max` ids, `per_owner` of them for one owner.
    pub(crate) fn new(max: usize, per_owner: usize) -> Self {
        Revoked {
            table: Mutex::default(),
            max,
            per_owner,
        }
    }

    /// Ends `id` of `owner`, which expires at `expires` (unix seconds); `now` is the time
    /// now. False, and nothing ended, when the table has no room for it.
    pub(crate) fn revoke(&self, id: &str, owner: OwnerKey, expires: u64, now: u64) -> bool {
        let Ok(mut t) = self.table.lock() else {
            return false;
        };
        while let Some(((exp, old), ())) = t.expiry.first_key_value()
            && *exp <= now
        {
            let key = (*exp, old.clone());
            t.expiry.remove(&key);
            if let Some((o, _)) = t.ids.remove(&key.1) {
                t.owners.sub(&o);
            }
        }
        if t.ids.contains_key(id) {
            return true;
        }
        if t.owners.get(&owner) >= self.per_owner || t.ids.len() >= self.max {
            return false;
        }
        t.ids.insert(id.to_owned(), (owner, expires));
        t.expiry.insert((expires, id.to_owned()), ());
        t.owners.add(owner);
        true
    }

    /// Whether `id` was ended here.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.table.lock().is_ok_and(|t| t.ids.contains_key(id))
    }

    /// How many ids are remembered.
    pub(crate) fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.ids.len())
    }
}

#[derive(Debug, Default)]
struct LevelTable {
    /// Session → (owner, level, when set).
    levels: HashMap<String, (OwnerKey, String, u64)>,
    /// The settings in the order they were made.
    order: BTreeMap<u64, String>,
    owners: Counts,
    next: u64,
}

impl LevelTable {
    fn remove(&mut self, session: &str) {
        if let Some((owner, _, at)) = self.levels.remove(session) {
            self.order.remove(&at);
            self.owners.sub(&owner);
        }
    }

    /// The session whose level was set longest ago (of `owner`, if given).
    fn oldest(&self, owner: Option<&OwnerKey>) -> Option<String> {
        self.order
            .values()
            .find(|s| owner.is_none_or(|o| self.levels.get(*s).is_some_and(|(so, ..)| so == o)))
            .cloned()
    }
}

/// The log level each legacy session asked for, in memory on this replica (a session that
/// moves to another replica falls back to every level until it sets one there).
#[derive(Debug)]
pub(crate) struct LogLevels {
    table: Mutex<LevelTable>,
    max: usize,
    per_owner: usize,
}

impl Default for LogLevels {
    fn default() -> Self {
        LogLevels::new(MAX_LOG_LEVELS, MAX_LOG_LEVELS_PER_OWNER)
    }
}

impl LogLevels {
    /// A table of `max` sessions' levels, `per_owner` of them for one owner.
    pub(crate) fn new(max: usize, per_owner: usize) -> Self {
        LogLevels {
            table: Mutex::default(),
            max: max.max(1),
            per_owner: per_owner.max(1),
        }
    }

    /// Sets `session`'s level. When full, the owner's oldest setting goes if the owner is at
    /// its share, else the oldest of all.
    pub(crate) fn set(&self, session: &str, owner: OwnerKey, level: &str) {
        let Ok(mut t) = self.table.lock() else {
            return;
        };
        t.remove(session);
        let evict = if t.owners.get(&owner) >= self.per_owner {
            t.oldest(Some(&owner))
        } else if t.levels.len() >= self.max {
            t.oldest(None)
        } else {
            None
        };
        if let Some(old) = evict {
            t.remove(&old);
        }
        let at = t.next;
        t.next += 1;
        t.levels
            .insert(session.to_owned(), (owner, level.to_owned(), at));
        t.order.insert(at, session.to_owned());
        t.owners.add(owner);
    }

    /// The level `session` set, if remembered.
    pub(crate) fn get(&self, session: &str) -> Option<String> {
        self.table
            .lock()
            .ok()
            .and_then(|t| t.levels.get(session).map(|(_, l, _)| l.clone()))
    }

    /// Forgets a deleted session's level.
    pub(crate) fn forget(&self, session: &str) {
        if let Ok(mut t) = self.table.lock() {
            t.remove(session);
        }
    }

    /// How many levels are remembered.
    pub(crate) fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.levels.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: OwnerKey = [1; 16];
    const B: OwnerKey = [2; 16];

    #[test]
    fn a_full_revocation_table_refuses_rather_than_forgets() {
        let revoked = Revoked::new(5, 3);
        for i in 0..3 {
            assert!(revoked.revoke(&format!("a{i}"), A, 100, 0));
        }
        // Alice's share is full: her next DELETE is refused, nothing forgotten.
        assert!(!revoked.revoke("a3", A, 100, 0));
        assert!(!revoked.contains("a3"));
        assert!((0..3).all(|i| revoked.contains(&format!("a{i}"))));
        // Bob still ends his sessions, up to the table's bound.
        assert!(revoked.revoke("b0", B, 100, 0));
        assert!(revoked.revoke("b1", B, 50, 0));
        assert!(!revoked.revoke("b2", B, 100, 0));
        assert_eq!(revoked.len(), 5, "the table stays at its bound");
        // Ending one again is fine; an expired id makes room (it is refused by expiry anyway).
        assert!(revoked.revoke("a0", A, 100, 0));
        assert!(revoked.revoke("b2", B, 100, 50));
        assert!(!revoked.contains("b1"));
    }

    #[test]
    fn log_levels_evict_the_oldest_never_everything() {
        let levels = LogLevels::new(5, 3);
        for i in 0..3 {
            levels.set(&format!("a{i}"), A, "info");
        }
        levels.set("b0", B, "error");
        // Alice over her share: her own oldest goes, Bob's stays.
        levels.set("a3", A, "debug");
        assert_eq!(levels.get("a0"), None);
        assert_eq!(levels.get("a3").as_deref(), Some("debug"));
        assert_eq!(levels.get("b0").as_deref(), Some("error"));
        assert_eq!(levels.len(), 4);
        // Full: the oldest of all goes, one entry, not the table.
        levels.set("b1", B, "warning");
        levels.set("b2", B, "notice");
        assert_eq!(levels.len(), 5, "the table stays at its bound");
        assert_eq!(levels.get("a1"), None, "the oldest went");
        assert_eq!(levels.get("a2").as_deref(), Some("info"));
        // Setting again refreshes, and forgetting frees.
        levels.set("a2", A, "alert");
        levels.forget("b0");
        assert_eq!(levels.len(), 4);
        assert_eq!(levels.get("a2").as_deref(), Some("alert"));
    }
}
