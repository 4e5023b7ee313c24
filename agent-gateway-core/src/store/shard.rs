//! One lock's worth of entries, with expiry checked on access and swept a few slots at a time.
//!
//! Entries live in a dense `Vec` indexed by a `HashMap`, rather than in the map alone, so that a
//! sweep can walk a cursor over them and stop after a fixed number of steps: every call pays a
//! small, bounded cost, and an expired key nobody touches again is still freed within a bounded
//! number of calls.

use std::collections::HashMap;

/// A deadline that never comes.
pub(super) const NEVER: u64 = u64::MAX;

/// What a key holds. Times are nanoseconds on the store's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// A counter or accumulator, expiring at `expires` ([`NEVER`] for no expiry).
    Counter { value: u64, expires: u64 },
    /// A GCRA theoretical arrival time; the key is empty once it has passed.
    Tat(u64),
}

impl Entry {
    /// The instant at which the entry is gone: it is live while `now < deadline`.
    fn deadline(&self) -> u64 {
        match *self {
            Entry::Counter { expires, .. } => expires,
            Entry::Tat(tat) => tat,
        }
    }
}

#[derive(Debug)]
struct Slot {
    key: Box<str>,
    entry: Entry,
}

/// Entries and a sweep cursor.
#[derive(Debug, Default)]
pub(super) struct Shard {
    index: HashMap<Box<str>, usize>,
    slots: Vec<Slot>,
    cursor: usize,
}

impl Shard {
    /// The key's entry if it is live at `now`; an expired one is removed.
    pub(super) fn live(&mut self, key: &str, now: u64) -> Option<&mut Entry> {
        let i = *self.index.get(key)?;
        if self.slots.get(i)?.entry.deadline() <= now {
            self.remove_at(i);
            return None;
        }
        self.slots.get_mut(i).map(|slot| &mut slot.entry)
    }

    /// Stores `entry` under `key`, replacing what was there.
    pub(super) fn put(&mut self, key: &str, entry: Entry) {
        if let Some(slot) = self.index.get(key).and_then(|&i| self.slots.get_mut(i)) {
            slot.entry = entry;
            return;
        }
        self.index.insert(key.into(), self.slots.len());
        self.slots.push(Slot {
            key: key.into(),
            entry,
        });
    }

    /// Deletes the key, if present.
    pub(super) fn remove(&mut self, key: &str) {
        if let Some(&i) = self.index.get(key) {
            self.remove_at(i);
        }
    }

    /// Takes up to `steps` steps of the sweep, removing the expired entries it meets. Returns how
    /// many it removed.
    pub(super) fn sweep(&mut self, now: u64, steps: usize) -> usize {
        let mut removed = 0;
        for _ in 0..steps {
            if self.cursor >= self.slots.len() {
                if self.slots.is_empty() {
                    break;
                }
                self.cursor = 0;
            }
            if self.slots[self.cursor].entry.deadline() <= now {
                // The last slot moves into the cursor's place, so the cursor stays to check it.
                self.remove_at(self.cursor);
                removed += 1;
            } else {
                self.cursor += 1;
            }
        }
        removed
    }

    /// Removes every expired entry. Returns how many.
    pub(super) fn purge(&mut self, now: u64) -> usize {
        let before = self.slots.len();
        self.slots.retain(|slot| slot.entry.deadline() > now);
        self.index.clear();
        self.index.extend(
            self.slots
                .iter()
                .enumerate()
                .map(|(i, slot)| (slot.key.clone(), i)),
        );
        self.cursor = 0;
        before - self.slots.len()
    }

    /// How many entries are stored, counting expired ones not yet removed.
    /// The bytes of every key held.
    pub(super) fn key_bytes(&self) -> usize {
        self.index.keys().map(|k| k.len()).sum()
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    fn remove_at(&mut self, i: usize) {
        if i >= self.slots.len() {
            return;
        }
        let removed = self.slots.swap_remove(i);
        self.index.remove(&removed.key);
        if let Some(moved) = self.slots.get(i)
            && let Some(at) = self.index.get_mut(&moved.key)
        {
            *at = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(value: u64, expires: u64) -> Entry {
        Entry::Counter { value, expires }
    }

    fn consistent(shard: &Shard) {
        assert_eq!(shard.index.len(), shard.slots.len());
        for (i, slot) in shard.slots.iter().enumerate() {
            assert_eq!(shard.index.get(&slot.key), Some(&i));
        }
    }

    #[test]
    fn put_replace_and_remove_keep_the_index_in_step() {
        let mut shard = Shard::default();
        shard.put("a", counter(1, NEVER));
        shard.put("b", counter(2, NEVER));
        shard.put("c", counter(3, NEVER));
        shard.put("b", Entry::Tat(50));
        shard.remove("a");
        consistent(&shard);
        assert_eq!(shard.len(), 2);
        assert_eq!(shard.live("a", 0), None);
        assert_eq!(shard.live("b", 0).copied(), Some(Entry::Tat(50)));
        assert_eq!(shard.live("c", 0).copied(), Some(counter(3, NEVER)));
        shard.remove("missing");
        consistent(&shard);
    }

    #[test]
    fn live_drops_an_entry_at_its_deadline() {
        let mut shard = Shard::default();
        shard.put("w", counter(4, 10));
        shard.put("t", Entry::Tat(10));
        assert!(shard.live("w", 9).is_some());
        assert!(shard.live("w", 10).is_none());
        assert!(shard.live("t", 10).is_none());
        assert_eq!(shard.len(), 0);
        consistent(&shard);
    }

    #[test]
    fn sweep_does_bounded_work_and_eventually_frees_everything_expired() {
        let mut shard = Shard::default();
        for i in 0..20u64 {
            let expires = if i % 5 == 0 { NEVER } else { 10 };
            shard.put(&format!("k{i}"), counter(i, expires));
        }
        // k0 never expires, so the first step only moves past it.
        assert_eq!(shard.sweep(100, 3), 2);
        assert_eq!(shard.len(), 18);
        consistent(&shard);
        let mut calls = 0;
        while shard.len() > 4 {
            assert!(shard.sweep(100, 3) <= 3);
            consistent(&shard);
            calls += 1;
            assert!(calls < 20, "the sweep must make progress");
        }
        for i in (0..20u64).step_by(5) {
            assert!(shard.live(&format!("k{i}"), 100).is_some());
        }
    }

    #[test]
    fn purge_removes_all_expired_at_once() {
        let mut shard = Shard::default();
        shard.put("old", counter(1, 5));
        shard.put("new", counter(1, 50));
        shard.put("tat", Entry::Tat(5));
        assert_eq!(shard.purge(5), 2);
        consistent(&shard);
        assert_eq!(shard.live("new", 5).copied(), Some(counter(1, 50)));
    }
}
