//! The in-process counter store.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::gcra::Gcra;
use super::outcome::{Take, WindowOutcome};
use super::rate::{Rate, nanos};
use super::shard::{Entry, NEVER, Shard};
use super::{CounterStore, StoreError};
use crate::clock::{SharedClock, SystemClock};

/// How many locks the keys are spread over, so that unrelated keys rarely contend.
const SHARDS: usize = 16;

/// How many entries each call inspects for expiry, beyond the key it works on.
const SWEEP_STEPS: usize = 8;

/// A [`CounterStore`] in this process's memory.
///
/// It is the default store, exact for one gateway process; replicas that must share limits need
/// a shared store instead. It never fails.
///
/// Keys are spread over a few shards, each a `std::sync::Mutex` held only for the few integer
/// operations of one call (never across an `.await`), so every operation is atomic. Expired keys
/// are dropped when next touched, and each call also inspects a few other entries of its shard
/// and drops the expired ones, so memory follows the live keys without a background task.
/// [`purge_expired`](Self::purge_expired) frees everything expired at once, for callers who want
/// to run it on a timer.
///
/// All times come from the clock given to [`with_clock`](Self::with_clock)
/// ([`Clock::now`](crate::clock::Clock::now), counted in nanoseconds from the store's creation).
///
/// Clones share the same counters.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    clock: SharedClock,
    epoch: Instant,
}

impl MemoryStore {
    /// An empty store on the [`SystemClock`].
    pub fn new() -> Self {
        MemoryStore::with_clock(SystemClock::shared())
    }

    /// An empty store reading time from `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        MemoryStore::with_shards(clock, SHARDS)
    }

    pub(super) fn with_shards(clock: SharedClock, shards: usize) -> Self {
        let epoch = clock.now();
        MemoryStore {
            inner: Arc::new(Inner {
                shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
                hasher: RandomState::new(),
                clock,
                epoch,
            }),
        }
    }

    /// How many keys are stored, counting expired ones that have not been dropped yet.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// The total length of the stored keys in bytes (see [`len`](Self::len)): what key
    /// extractors that bound their parts keep bounded.
    pub fn key_bytes(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).key_bytes()).sum()
    }

    /// Whether no key is stored (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired key now, and returns how many there were.
    ///
    /// Not needed for correctness, nor to bound memory in a store that is in use: it is for a
    /// store that goes quiet after a burst of keys, or for a periodic task. It locks one shard
    /// at a time.
    pub fn purge_expired(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                let mut shard = lock(s);
                let now = self.now();
                shard.purge(now)
            })
            .sum()
    }

    /// Runs `op` on the key's shard under its lock, with the clock read under the same lock so
    /// that each shard sees time move forward only; then sweeps a few entries.
    fn with_shard<R>(&self, key: &str, op: impl FnOnce(&mut Shard, u64) -> R) -> R {
        let shards = &self.inner.shards;
        let at = self.inner.hasher.hash_one(key) % shards.len() as u64;
        let mut shard = lock(&shards[at as usize]);
        let now = self.now();
        let out = op(&mut shard, now);
        shard.sweep(now, SWEEP_STEPS);
        out
    }

    fn now(&self) -> u64 {
        nanos(
            self.inner
                .clock
                .now()
                .saturating_duration_since(self.inner.epoch),
        )
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.inner.shards.len())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

/// Locks a shard. Its operations cannot panic halfway (integer arithmetic that saturates and
/// bounds-checked indexing), so a poisoned lock still guards a consistent shard.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

/// The time from `now` until `deadline`, with [`NEVER`] as `Duration::MAX`.
fn until(deadline: u64, now: u64) -> Duration {
    if deadline == NEVER {
        Duration::MAX
    } else {
        Duration::from_nanos(deadline.saturating_sub(now))
    }
}

/// The live counter under `key` as `(value, expires)`; anything else counts as missing.
fn counter(shard: &mut Shard, key: &str, now: u64) -> Option<(u64, u64)> {
    match shard.live(key, now) {
        Some(Entry::Counter { value, expires }) => Some((*value, *expires)),
        _ => None,
    }
}

/// The live TAT under `key`; anything else counts as missing.
fn tat(shard: &mut Shard, key: &str, now: u64) -> Option<u64> {
    match shard.live(key, now) {
        Some(Entry::Tat(tat)) => Some(*tat),
        _ => None,
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn add(&self, key: &str, delta: u64, ttl: Option<Duration>) -> Result<u64, StoreError> {
        Ok(self.with_shard(key, |shard, now| {
            let (value, expires) = match counter(shard, key, now) {
                Some((value, expires)) => (value.saturating_add(delta), expires),
                None => (
                    delta,
                    ttl.map_or(NEVER, |ttl| now.saturating_add(nanos(ttl))),
                ),
            };
            shard.put(key, Entry::Counter { value, expires });
            value
        }))
    }

    async fn incr_within(
        &self,
        key: &str,
        delta: u64,
        limit: u64,
        window: Duration,
    ) -> Result<WindowOutcome, StoreError> {
        Ok(self.with_shard(key, |shard, now| {
            let current = counter(shard, key, now);
            let total = current.map_or(0, |(value, _)| value);
            match total.checked_add(delta).filter(|&new| new <= limit) {
                Some(new) => {
                    let expires = current.map_or(now.saturating_add(nanos(window)), |(_, e)| e);
                    shard.put(
                        key,
                        Entry::Counter {
                            value: new,
                            expires,
                        },
                    );
                    WindowOutcome {
                        admitted: true,
                        total: new,
                        remaining: limit - new,
                        retry_after: Duration::ZERO,
                        reset_after: until(expires, now),
                    }
                }
                None => {
                    let reset_after = current.map_or(Duration::ZERO, |(_, e)| until(e, now));
                    WindowOutcome {
                        admitted: false,
                        total,
                        remaining: limit.saturating_sub(total),
                        retry_after: if delta > limit {
                            Duration::MAX
                        } else {
                            reset_after
                        },
                        reset_after,
                    }
                }
            }
        }))
    }

    async fn get(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self.with_shard(key, |shard, now| {
            counter(shard, key, now).map_or(0, |(value, _)| value)
        }))
    }

    async fn take(&self, key: &str, n: u64, rate: Rate) -> Result<Take, StoreError> {
        let gcra = Gcra::new(rate);
        Ok(self.with_shard(key, |shard, now| {
            let (take, new_tat) = gcra.take(tat(shard, key, now), now, n);
            if let Some(new_tat) = new_tat {
                shard.put(key, Entry::Tat(new_tat));
            }
            take
        }))
    }

    async fn settle(&self, key: &str, delta: i64, rate: Rate) -> Result<(), StoreError> {
        let gcra = Gcra::new(rate);
        self.with_shard(key, |shard, now| {
            let stored = tat(shard, key, now);
            match gcra.settle(stored, now, delta) {
                Some(new_tat) if new_tat > now => shard.put(key, Entry::Tat(new_tat)),
                _ if stored.is_some() => shard.remove(key),
                _ => {}
            }
        });
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.with_shard(key, |shard, _| shard.remove(key));
        Ok(())
    }
}
