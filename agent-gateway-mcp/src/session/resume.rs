//! Resumable legacy answers: a legacy client whose SSE answer breaks before the response may
//! come back with `GET` and `Last-Event-ID` and get every event after that one, then the rest
//! as it comes (the 2025-11-25 transport's resumability). In the legacy era a broken stream is
//! not a cancellation (`notifications/cancelled` is), so the call goes on without its client.
//!
//! Each legacy answer stream records the events it writes, bounded ([`MAX_EVENTS`],
//! [`MAX_BYTES`]; the oldest go first), under its random stream id and its session. A stream
//! is forgotten [`KEEP_AFTER_END`] after its end, and a call that lost its client is given
//! [`DETACHED_LIMIT`] at most to finish. All of this is in memory on the replica that served
//! the stream: a client resuming on another replica gets a plain GET stream.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use agent_gateway_core::body::GatewayBody;

/// The most events kept for one stream.
pub(crate) const MAX_EVENTS: usize = 256;
/// The most bytes of events kept for one stream.
pub(crate) const MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long a finished stream stays resumable.
pub(crate) const KEEP_AFTER_END: Duration = Duration::from_secs(60);
/// How long a call whose client left may still run.
pub(crate) const DETACHED_LIMIT: Duration = Duration::from_secs(300);
/// The most streams kept resumable on one replica.
const MAX_STREAMS: usize = 4096;

#[derive(Debug, Default)]
struct Log {
    events: VecDeque<(u64, Bytes)>,
    bytes: usize,
    ended: Option<Instant>,
}

/// The events of one legacy answer stream.
#[derive(Debug)]
pub(crate) struct Recording {
    session: String,
    log: Mutex<Log>,
    changed: Notify,
}

impl Recording {
    /// Records event `seq` as written.
    pub(crate) fn push(&self, seq: u64, event: Bytes) {
        if let Ok(mut log) = self.log.lock() {
            log.bytes += event.len();
            log.events.push_back((seq, event));
            while log.events.len() > MAX_EVENTS || log.bytes > MAX_BYTES {
                match log.events.pop_front() {
                    Some((_, e)) => log.bytes -= e.len(),
                    None => break,
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// Marks the stream ended: nothing more will be recorded.
    pub(crate) fn end(&self) {
        if let Ok(mut log) = self.log.lock() {
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

/// The resumable streams of this replica, by stream id.
#[derive(Debug, Default)]
pub(crate) struct Resumable(Mutex<HashMap<String, Arc<Recording>>>);

impl Resumable {
    /// Starts recording stream `stream` of `session`; `None` when too many streams are kept.
    pub(crate) fn record(&self, stream: &str, session: &str) -> Option<Arc<Recording>> {
        let mut map = self.0.lock().ok()?;
        if map.len() >= MAX_STREAMS {
            let now = Instant::now();
            map.retain(|_, r| {
                r.log
                    .lock()
                    .ok()
                    .and_then(|l| l.ended)
                    .is_none_or(|t| now.duration_since(t) < KEEP_AFTER_END)
            });
        }
        if map.len() >= MAX_STREAMS {
            return None;
        }
        let rec = Arc::new(Recording {
            session: session.to_owned(),
            log: Mutex::default(),
            changed: Notify::new(),
        });
        map.insert(stream.to_owned(), rec.clone());
        Some(rec)
    }

    /// The recording `last_event_id` (`<stream>-<seq>`) names, if it belongs to `session` and
    /// is still kept, with the sequence number to resume after.
    pub(crate) fn find(&self, session: &str, last_event_id: &str) -> Option<(Arc<Recording>, u64)> {
        let (stream, seq) = last_event_id.trim().rsplit_once('-')?;
        let seq = seq.parse().ok()?;
        let map = self.0.lock().ok()?;
        let rec = map.get(stream).filter(|r| r.session == session)?.clone();
        let expired = rec
            .log
            .lock()
            .ok()
            .and_then(|l| l.ended)
            .is_some_and(|t| t.elapsed() >= KEEP_AFTER_END);
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
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn recordings_are_bounded_bound_to_their_session_and_replayed_after_an_id() {
        let streams = Resumable::default();
        let rec = streams.record("abc", "s1").unwrap();
        for seq in 1..=(MAX_EVENTS as u64 + 10) {
            rec.push(seq, Bytes::from(format!("e{seq}\n\n")));
        }
        let (kept, ended) = rec.after(0);
        assert_eq!(kept.len(), MAX_EVENTS, "the oldest go first");
        assert!(!ended);
        assert!(
            streams.find("s2", "abc-3").is_none(),
            "another session's stream"
        );
        assert!(streams.find("s1", "nope-3").is_none());
        assert!(streams.find("s1", "abc").is_none());
        let (found, seq) = streams.find("s1", "abc-260").unwrap();
        assert_eq!(seq, 260);
        rec.end();
        let body = replay(found, seq)
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(
            &body[..],
            b"e261\n\ne262\n\ne263\n\ne264\n\ne265\n\ne266\n\n"
        );
    }
}
