//! [`AuditLog`]: the writer behind the audit layer, off the request path, never lossy unless
//! told to be.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::AuditRecord;
use super::chain::{ChainHead, seal_into};
use super::sink::{AuditError, AuditSink};

/// Records waiting for the writer, unless set: a few milliseconds of a busy gateway's calls,
/// enough to absorb a slow fsync without making callers wait, small enough to bound memory.
pub const DEFAULT_QUEUE: usize = 8192;

/// The most records sealed, written and synced as one batch (one write, one fsync): beyond
/// this, a batch's callers wait longer for its fsync than a second batch would take.
pub const MAX_BATCH: usize = 1024;

/// How often `fsync = "interval"` syncs, unless set: at most this much is lost on power loss.
pub const DEFAULT_FSYNC_INTERVAL: Duration = Duration::from_secs(1);

/// When records reach the disk, and what each policy guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fsync {
    /// Every batch is fsynced before its calls' responses are released (group commit: one
    /// fsync for all the records that arrived together). Every non-streamed response a client
    /// received, and every denial, has its record on disk, whatever crashes. A stream's record is
    /// written when the stream ends, after its last byte was sent, so a crash at that moment
    /// can lose it.
    Always,
    /// Records are written to the file as they arrive and fsynced at most this long after.
    /// A process crash loses only records still queued; power loss can also lose up to this
    /// interval of written records.
    Interval(Duration),
    /// Records are written as they arrive and never fsynced (but when the log is flushed): a
    /// process crash loses only records still queued; power loss can lose whatever the OS had
    /// not written back.
    Never,
}

/// What happens when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// The call waits for room (backpressure): no record is ever dropped. The default.
    #[default]
    Wait,
    /// The record is dropped and counted in [`AuditLog::dropped`]: calls never wait for the
    /// audit log, which is then lossy under overload.
    Drop,
}

/// How an [`AuditLog`] writes.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct AuditOptions {
    fsync: Fsync,
    queue: usize,
    overflow: Overflow,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            fsync: Fsync::Interval(DEFAULT_FSYNC_INTERVAL),
            queue: DEFAULT_QUEUE,
            overflow: Overflow::Wait,
        }
    }
}

impl AuditOptions {
    /// [`Fsync::Interval`] of [`DEFAULT_FSYNC_INTERVAL`], a queue of [`DEFAULT_QUEUE`], and
    /// [`Overflow::Wait`].
    pub fn new() -> Self {
        AuditOptions::default()
    }

    /// Sets the durability policy.
    pub fn with_fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Sets how many records may wait for the writer (at least 1).
    pub fn with_queue(mut self, queue: usize) -> Self {
        self.queue = queue.max(1);
        self
    }

    /// Sets what happens when the queue is full.
    pub fn with_overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }
}

enum Job {
    Record(Box<AuditRecord>, Option<oneshot::Sender<bool>>),
    Flush(oneshot::Sender<bool>),
    /// Write what was queued, sync, stop and release the sink; acknowledged after that.
    Close(oneshot::Sender<bool>),
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    broken: AtomicBool,
}

/// The audit writer: a dedicated thread that seals records into the chain and appends them to
/// an [`AuditSink`], fed through a bounded queue.
///
/// Clones share the writer. It stops once every clone is dropped, after writing and syncing
/// what was queued.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    options: AuditOptions,
}

impl AuditLog {
    /// Starts the writer over `sink`.
    pub fn start(sink: impl AuditSink, options: AuditOptions) -> Result<Self, AuditError> {
        let (tx, rx) = mpsc::channel(options.queue);
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            sink,
            head: ChainHead::start(),
            fsync: options.fsync,
            counters: counters.clone(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(AuditError::io(std::path::Path::new("audit writer")))?;
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || runtime.block_on(writer.run(rx)))
            .map_err(AuditError::io(std::path::Path::new("audit writer")))?;
        Ok(AuditLog {
            tx,
            counters,
            options,
        })
    }

    /// Queues `record`, waiting for room unless the log drops on overflow; with
    /// [`Fsync::Always`], resolves once the record is durable. Fails when the writer has
    /// stopped or could not write it.
    pub async fn submit(&self, record: AuditRecord) -> Result<(), AuditError> {
        let (ack, done) = match self.options.fsync {
            Fsync::Always => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        let job = Job::Record(Box::new(record), ack);
        match self.options.overflow {
            Overflow::Wait => self.tx.send(job).await.map_err(|_| AuditError::Closed)?,
            Overflow::Drop => match self.tx.try_send(job) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(AuditError::Closed),
            },
        }
        match done {
            Some(done) => match done.await {
                Ok(true) => Ok(()),
                _ => Err(AuditError::Closed),
            },
            None => Ok(()),
        }
    }

    /// Queues `record` without waiting, for a stream that ended (on the task polling its
    /// body). When the queue is full it is sent from a spawned task, so it is not lost unless
    /// the log drops on overflow, or there is no Tokio runtime to spawn on.
    pub fn submit_detached(&self, record: AuditRecord) {
        let job = Job::Record(Box::new(record), None);
        let job = match self.tx.try_send(job) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
            Err(mpsc::error::TrySendError::Full(job)) => job,
        };
        let spawned = match (self.options.overflow, tokio::runtime::Handle::try_current()) {
            (Overflow::Wait, Ok(handle)) => {
                let tx = self.tx.clone();
                handle.spawn(async move {
                    let _ = tx.send(job).await;
                });
                true
            }
            _ => false,
        };
        if !spawned {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Resolves once every record queued before it is written and synced.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Flush(tx))
            .await
            .map_err(|_| AuditError::Closed)?;
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(AuditError::Closed),
        }
    }

    /// Writes and syncs every record queued before it, then stops the writer and releases its
    /// sink (and the sink's [writer lock](super::JsonlSink)): resolves once that is done, so
    /// another writer may open the store right after. Records submitted later, through any
    /// clone, fail with [`AuditError::Closed`].
    pub async fn close(self) -> Result<(), AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Close(tx))
            .await
            .map_err(|_| AuditError::Closed)?;
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(AuditError::Closed),
        }
    }

    /// Records written to the sink.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Records dropped because the queue was full ([`Overflow::Drop`]).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Records the sink failed to store. After the first failure the writer refuses every
    /// record (the store may end in a partial line), so calls fail closed with
    /// [`Fsync::Always`]; each failure is logged at `error`.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }

    /// Records queued for the writer and not yet taken (a gauge for metrics).
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The queue's bound ([`AuditOptions::with_queue`]).
    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// The durability policy.
    pub fn fsync(&self) -> Fsync {
        self.options.fsync
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("options", &self.options)
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .finish()
    }
}

struct Writer<K> {
    sink: K,
    head: ChainHead,
    fsync: Fsync,
    counters: Arc<Counters>,
}

impl<K: AuditSink> Writer<K> {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        self.head = self.sink.head();
        let mut dirty = false;
        let mut last_sync = Instant::now();
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut closers = Vec::new();
        loop {
            let due = match self.fsync {
                Fsync::Interval(every) if dirty => Some(every.saturating_sub(last_sync.elapsed())),
                _ => None,
            };
            let first = match due {
                Some(wait) => match tokio::time::timeout(wait, rx.recv()).await {
                    Ok(job) => job,
                    Err(_) => {
                        self.sync(&mut dirty, &mut last_sync);
                        continue;
                    }
                },
                None => rx.recv().await,
            };
            let Some(first) = first else { break };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.write(&mut batch, &mut dirty, &mut last_sync, &mut closers);
            if !closers.is_empty() {
                // What is already queued is still written; then `recv` ends the loop.
                rx.close();
            }
        }
        let ok = self.sync(&mut dirty, &mut last_sync);
        let ok = ok && !self.counters.broken.load(Ordering::Relaxed);
        // The sink (and its lock) goes before a closer hears it is done.
        drop(self);
        for closer in closers {
            let _ = closer.send(ok);
        }
    }

    fn write(
        &mut self,
        batch: &mut Vec<Job>,
        dirty: &mut bool,
        last_sync: &mut Instant,
        closers: &mut Vec<oneshot::Sender<bool>>,
    ) {
        let mut lines = Vec::new();
        let mut records = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        let mut flush = false;
        let mut head = self.head.clone();
        for job in batch.drain(..) {
            match job {
                Job::Record(mut record, ack) => {
                    seal_into(&mut record, &mut head, &mut lines);
                    records.push(*record);
                    acks.extend(ack);
                }
                Job::Flush(ack) => {
                    flush = true;
                    acks.push(ack);
                }
                Job::Close(ack) => {
                    flush = true;
                    closers.push(ack);
                }
            }
        }
        let mut ok = !self.counters.broken.load(Ordering::Relaxed);
        if ok && !records.is_empty() {
            match self.sink.append(&lines, &records) {
                Ok(()) => {
                    self.head = head;
                    *dirty = true;
                    self.counters
                        .written
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit: cannot write records; refusing further records");
                    self.counters.broken.store(true, Ordering::Relaxed);
                    ok = false;
                }
            }
        }
        if !ok {
            self.counters
                .failed
                .fetch_add(records.len() as u64, Ordering::Relaxed);
        }
        let sync_now = flush
            || match self.fsync {
                Fsync::Always => true,
                Fsync::Interval(every) => last_sync.elapsed() >= every,
                Fsync::Never => false,
            };
        if ok && sync_now {
            ok = self.sync(dirty, last_sync);
        }
        for ack in acks {
            let _ = ack.send(ok);
        }
    }

    /// Syncs if anything was written since the last sync; false if that failed.
    fn sync(&mut self, dirty: &mut bool, last_sync: &mut Instant) -> bool {
        if !*dirty {
            return true;
        }
        *last_sync = Instant::now();
        match self.sink.sync() {
            Ok(()) => {
                *dirty = false;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "audit: fsync failed; refusing further records");
                self.counters.broken.store(true, Ordering::Relaxed);
                false
            }
        }
    }
}
