//! Resumable legacy answers: a legacy client whose SSE answer breaks before the response may
//! come back with `GET` and `Last-Event-ID` and get every event after that one, then the rest
//! as it comes (the 2025-11-25 transport's resumability). In the legacy era a broken stream is
//! not a cancellation (`notifications/cancelled` is), so the call goes on without its client.
//!
//! Each legacy answer stream records the events it writes under its random stream id, its
//! session and its session's owner. What is kept is bounded three ways:
//!
//! - per stream: [`MAX_EVENTS`] and [`MAX_BYTES`], the oldest events going first;
//! - per owner: [`MAX_STREAMS_PER_OWNER`] streams and [`MAX_OWNER_BYTES`];
//! - in all: [`MAX_STREAMS`] streams and [`MAX_TOTAL_BYTES`].
//!
//! When a bound is reached, the streams that have ended go first, the one that ended longest
//! ago first (of the same owner when it is the owner's share that is full); a stream still
//! running then gives up its own oldest events. A new stream that finds no room is simply not
//! resumable. So one caller filling its share never stops another's streams being recorded.
//!
//! A stream is forgotten [`KEEP_AFTER_END`] after its end (purged whenever a stream starts),
//! and a call that lost its client is given [`DETACHED_LIMIT`] at most to finish. All of this
//! is in memory on the replica that served the stream: a client resuming on another replica
//! gets a plain GET stream.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::share::OwnerKey;
use agent_gateway_core::body::GatewayBody;

/// The most events kept for one stream: a long tool's progress, not an unbounded log.
pub(crate) const MAX_EVENTS: usize = 256;
/// The most bytes of events kept for one stream: a large final answer still fits.
pub(crate) const MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long a finished stream stays resumable: a client reconnecting after a network blip.
pub(crate) const KEEP_AFTER_END: Duration = Duration::from_secs(60);
/// How long a call whose client left may still run.
pub(crate) const DETACHED_LIMIT: Duration = Duration::from_secs(300);
/// The most streams kept resumable on one replica.
pub(crate) const MAX_STREAMS: usize = 4096;
/// The most streams one owner keeps resumable: an eighth of [`MAX_STREAMS`].
pub(crate) const MAX_STREAMS_PER_OWNER: usize = 512;
/// The most bytes recorded across every stream of one replica: what resumability may cost in
/// memory at worst.
pub(crate) const MAX_TOTAL_BYTES: usize = 256 * 1024 * 1024;
/// The most bytes recorded for one owner's streams: an eighth of [`MAX_TOTAL_BYTES`], eight
/// full-size streams.
pub(crate) const MAX_OWNER_BYTES: usize = 32 * 1024 * 1024;

/// How much the recordings may hold (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) streams: usize,
    pub(crate) streams_per_owner: usize,
    pub(crate) total_bytes: usize,
    pub(crate) owner_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            streams: MAX_STREAMS,
            streams_per_owner: MAX_STREAMS_PER_OWNER,
            total_bytes: MAX_TOTAL_BYTES,
            owner_bytes: MAX_OWNER_BYTES,
        }
    }
}

#[derive(Debug, Default)]
struct Log {
    events: VecDeque<(u64, Bytes)>,
    bytes: usize,
    ended: Option<Instant>,
}

/// The bytes recorded, in all and per owner.
#[derive(Debug, Default)]
struct Budget {
    total: usize,
    owners: HashMap<OwnerKey, usize>,
}

impl Budget {
    fn release(&mut self, owner: &OwnerKey, n: usize) {
        self.total = self.total.saturating_sub(n);
        if let Some(used) = self.owners.get_mut(owner) {
            *used = used.saturating_sub(n);
            if *used == 0 {
                self.owners.remove(owner);
            }
        }
    }
}

/// Which share has no room for an event.
#[derive(Debug, Clone, Copy)]
enum Full {
    Owner,
    Total,
}

/// The events of one legacy answer stream.
#[derive(Debug)]
pub(crate) struct Recording {
    session: String,
    owner: OwnerKey,
    log: Mutex<Log>,
    changed: Notify,
    shelf: Weak<Resumable>,
}

impl Recording {
    /// Records event `seq` as written, within the stream's, its owner's and the replica's
    /// bounds (see the module docs).
    pub(crate) fn push(&self, seq: u64, event: Bytes) {
        let n = event.len();
        if n <= MAX_BYTES {
            self.trim(|log| log.events.len() >= MAX_EVENTS || log.bytes + n > MAX_BYTES);
            if self.make_room(n)
                && let Ok(mut log) = self.log.lock()
            {
                log.bytes += n;
                log.events.push_back((seq, event));
            }
        }
        self.changed.notify_waiters();
    }

    /// Takes a share of `n` bytes, evicting ended streams and then this one's oldest events
    /// when a share is full; false when no room can be made.
    fn make_room(&self, n: usize) -> bool {
        let Some(shelf) = self.shelf.upgrade() else {
            return false;
        };
        loop {
            let full = match shelf.reserve(&self.owner, n) {
                None => return true,
                Some(full) => full,
            };
            if shelf.evict_ended(matches!(full, Full::Owner).then_some(&self.owner)) {
                continue;
            }
            let mut first = true;
            let freed = self.trim(|_| std::mem::take(&mut first));
            if freed == 0 {
                return false;
            }
        }
    }

    /// Drops this stream's oldest events while `over` says so, giving their bytes back.
    /// The bytes freed.
    fn trim(&self, mut over: impl FnMut(&Log) -> bool) -> usize {
        let mut freed = 0;
        if let Ok(mut log) = self.log.lock() {
            while over(&log) {
                match log.events.pop_front() {
                    Some((_, e)) => {
                        log.bytes -= e.len();
                        freed += e.len();
                    }
                    None => break,
                }
            }
        }
        if freed > 0
            && let Some(shelf) = self.shelf.upgrade()
            && let Ok(mut budget) = shelf.budget.lock()
        {
            budget.release(&self.owner, freed);
        }
        freed
    }

    /// Marks the stream ended: nothing more will be recorded.
    pub(crate) fn end(&self) {
        if let Ok(mut log) = self.log.lock() {
            log.ended.get_or_insert_with(Instant::now);
        }
        self.changed.notify_waiters();
    }

    /// When the stream ended, if it has.
    fn ended(&self) -> Option<Instant> {
        self.log.lock().ok().and_then(|l| l.ended)
    }

    /// Forgets every event (the stream was evicted), giving the bytes back.
    fn clear(&self, budget: &mut Budget) {
        if let Ok(mut log) = self.log.lock() {
            budget.release(&self.owner, log.bytes);
            log.events.clear();
            log.bytes = 0;
            log.ended.get_or_insert_with(Instant::now);
        }
        self.changed.notify_waiters();
    }

    /// The events after `seq`, and whether the stream has ended.
    fn after(&self, seq: u64) -> (Vec<(u64, Bytes)>, bool) {
        match self.log.lock() {
            Ok(log) => (
                log.events
                    .iter()
                    .filter(|(s, _)| *s > seq)
                    .cloned()
                    .collect(),
                log.ended.is_some(),
            ),
            Err(_) => (Vec::new(), true),
        }
    }
}

/// The resumable streams of this replica, by stream id, and the bytes they hold.
#[derive(Debug, Default)]
pub(crate) struct Resumable {
    streams: Mutex<HashMap<String, Arc<Recording>>>,
    budget: Mutex<Budget>,
    limits: Limits,
}

impl Resumable {
    /// A table within `limits`.
    pub(crate) fn new(limits: Limits) -> Self {
        Resumable {
            limits,
            ..Resumable::default()
        }
    }

    /// Starts recording stream `stream` of `session`, owned by `owner`; `None` when no room
    /// can be made for another stream (of this owner, or at all).
    pub(crate) fn record(
        self: &Arc<Self>,
        stream: &str,
        session: &str,
        owner: OwnerKey,
    ) -> Option<Arc<Recording>> {
        let mut map = self.streams.lock().ok()?;
        self.purge(&mut map);
        let owned = |map: &HashMap<String, Arc<Recording>>| {
            map.values().filter(|r| r.owner == owner).count()
        };
        while owned(&map) >= self.limits.streams_per_owner {
            if !self.evict_one(&mut map, Some(&owner)) {
                return None;
            }
        }
        while map.len() >= self.limits.streams {
            if !self.evict_one(&mut map, None) {
                return None;
            }
        }
        let rec = Arc::new(Recording {
            session: session.to_owned(),
            owner,
            log: Mutex::default(),
            changed: Notify::new(),
            shelf: Arc::downgrade(self),
        });
        map.insert(stream.to_owned(), rec.clone());
        Some(rec)
    }

    /// How many streams are kept, and the bytes they hold.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let n = self.streams.lock().map_or(0, |m| m.len());
        let bytes = self.budget.lock().map_or(0, |b| b.total);
        (n, bytes)
    }

    /// Takes `n` bytes from `owner`'s share and the total; which share is full otherwise.
    fn reserve(&self, owner: &OwnerKey, n: usize) -> Option<Full> {
        let Ok(mut budget) = self.budget.lock() else {
            return Some(Full::Total);
        };
        let used = budget.owners.get(owner).copied().unwrap_or(0);
        if used + n > self.limits.owner_bytes {
            return Some(Full::Owner);
        }
        if budget.total + n > self.limits.total_bytes {
            return Some(Full::Total);
        }
        budget.total += n;
        budget.owners.insert(*owner, used + n);
        None
    }

    /// Forgets the streams that ended [`KEEP_AFTER_END`] ago or more.
    fn purge(&self, map: &mut HashMap<String, Arc<Recording>>) {
        let now = Instant::now();
        let Ok(mut budget) = self.budget.lock() else {
            return;
        };
        map.retain(|_, r| {
            let keep = r
                .ended()
                .is_none_or(|t| now.duration_since(t) < KEEP_AFTER_END);
            if !keep {
                r.clear(&mut budget);
            }
            keep
        });
    }

    /// Evicts the stream that ended longest ago (of `owner`, if given); false when none has.
    fn evict_ended(&self, owner: Option<&OwnerKey>) -> bool {
        match self.streams.lock() {
            Ok(mut map) => self.evict_one(&mut map, owner),
            Err(_) => false,
        }
    }

    fn evict_one(
        &self,
        map: &mut HashMap<String, Arc<Recording>>,
        owner: Option<&OwnerKey>,
    ) -> bool {
        let oldest = map
            .iter()
            .filter(|(_, r)| owner.is_none_or(|o| r.owner == *o))
            .filter_map(|(k, r)| r.ended().map(|t| (t, k.clone())))
            .min();
        let Some((_, key)) = oldest else {
            return false;
        };
        if let (Some(rec), Ok(mut budget)) = (map.remove(&key), self.budget.lock()) {
            rec.clear(&mut budget);
        }
        true
    }

    /// The recording `last_event_id` (`<stream>-<seq>`) names, if it belongs to `session` and
    /// is still kept, with the sequence number to resume after.
    pub(crate) fn find(&self, session: &str, last_event_id: &str) -> Option<(Arc<Recording>, u64)> {
        let (stream, seq) = last_event_id.trim().rsplit_once('-')?;
        let seq = seq.parse().ok()?;
        let map = self.streams.lock().ok()?;
        let rec = map.get(stream).filter(|r| r.session == session)?.clone();
        let expired = rec.ended().is_some_and(|t| t.elapsed() >= KEEP_AFTER_END);
        (!expired).then_some((rec, seq))
    }
}

/// The answer to a resuming GET: the recorded events after `seq`, then new ones until the
/// stream ends.
pub(crate) fn replay(rec: Arc<Recording>, seq: u64) -> Response<GatewayBody> {
    let (tx, mut rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut last = seq;
        loop {
            let changed = rec.changed.notified();
            let (events, ended) = rec.after(last);
            for (s, e) in events {
                last = s;
                if tx.send(e).await.is_err() {
                    return;
                }
            }
            if ended && rec.after(last).0.is_empty() {
                return;
            }
            tokio::select! {
                () = changed => {}
                () = tx.closed() => return,
            }
        }
    });
    crate::front::render::sse(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

#[cfg(test)]
mod tests;
