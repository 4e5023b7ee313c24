//! [`JsonlSink`]: the default audit store, an append-only directory of JSONL segments.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::AuditRecord;
use super::chain::{ChainHead, unseal};
use super::lock::{LOCK_FILE, WriterLock};
use super::record::now_ms;
use super::sink::{AuditError, AuditSink};

/// A segment is closed and a new one started once it holds this many bytes, unless set: small
/// enough to ship, copy and verify one at a time, large enough that a busy gateway starts a new
/// one every few minutes rather than every few seconds.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// When segments start: by size, and optionally by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// A segment is closed once it holds at least this many bytes.
    pub max_bytes: u64,
    /// A segment is closed once its first record is this old, if set.
    pub max_age: Option<Duration>,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_bytes: DEFAULT_SEGMENT_BYTES,
            max_age: None,
        }
    }
}

/// A torn last line found, and cut off, when a store was opened: what a crash in the middle of
/// a write leaves. It was never acknowledged, so no caller saw its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// The segment.
    pub path: PathBuf,
    /// Where the torn line started (the segment's length after the cut).
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
}

/// An append-only, hash-chained JSONL store: a directory of segments named
/// `audit-<first seq, 20 digits>.jsonl`, one sealed record per line.
///
/// Opening it recovers the chain's tail from the last segment, so the chain continues across
/// segments and restarts; a torn last line (a crash mid-write) is cut off and reported in
/// [`torn`](JsonlSink::torn). One writer at a time: opening takes an advisory lock on
/// `audit.lock` in the directory, held until the sink is dropped (or its process exits), and a
/// second open fails with [`AuditError::Locked`].
#[derive(Debug)]
pub struct JsonlSink {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    bytes: u64,
    /// When the current segment's first record was written (ms), if it has one.
    started_ms: Option<u64>,
    rotation: Rotation,
    head: ChainHead,
    torn: Option<Torn>,
    /// Held while the sink is open: one writer per store.
    _lock: WriterLock,
}

impl JsonlSink {
    /// Opens (creating it if needed) the store in `dir`, segments rotated by `rotation`.
    pub fn open(dir: impl Into<PathBuf>, rotation: Rotation) -> Result<Self, AuditError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(AuditError::io(&dir))?;
        // Before the tail is read: a second writer must not even cut a torn line.
        let lock = WriterLock::acquire(&dir.join(LOCK_FILE))?;
        let segments = segments(&dir).map_err(AuditError::io(&dir))?;
        let mut torn = None;
        let mut head = ChainHead::start();
        let mut started_ms = None;
        // The tail is in the last segment holding a record; a crash right after a rotation can
        // leave the last one empty.
        for (i, path) in segments.iter().enumerate().rev() {
            let mut data = fs::read(path).map_err(AuditError::io(path))?;
            let last = i + 1 == segments.len();
            if last && !data.is_empty() && !data.ends_with(b"\n") {
                let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(AuditError::io(path))?;
                file.set_len(keep as u64).map_err(AuditError::io(path))?;
                file.sync_all().map_err(AuditError::io(path))?;
                torn = Some(Torn {
                    path: path.clone(),
                    offset: keep as u64,
                    bytes: (data.len() - keep) as u64,
                });
                tracing::warn!(path = %path.display(), offset = keep, "audit: cut a torn last line");
                data.truncate(keep);
            }
            let Some(body) = data.strip_suffix(b"\n") else {
                continue;
            };
            let line = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
            let record = unseal(line).map_err(|reason| AuditError::Corrupt {
                path: path.clone(),
                reason,
            })?;
            head = ChainHead::after(&record).ok_or_else(|| AuditError::Corrupt {
                path: path.clone(),
                reason: super::chain::BadLine::Malformed,
            })?;
            if last {
                let first = body.split(|&b| b == b'\n').next().unwrap_or(body);
                started_ms = unseal(first).ok().map(|r| r.time_ms);
            }
            break;
        }
        let path = match segments.last() {
            Some(path) => path.clone(),
            None => segment_path(&dir, head.next_seq),
        };
        let file = append(&path)?;
        let bytes = file.metadata().map_err(AuditError::io(&path))?.len();
        Ok(JsonlSink {
            dir,
            path,
            file,
            bytes,
            started_ms,
            rotation,
            head,
            torn,
            _lock: lock,
        })
    }

    /// The torn last line cut off when the store was opened, if there was one.
    pub fn torn(&self) -> Option<&Torn> {
        self.torn.as_ref()
    }

    /// The segment being written.
    pub fn current_segment(&self) -> &Path {
        &self.path
    }

    fn rotate_if_due(&mut self, next_seq: u64) -> Result<(), AuditError> {
        let Some(started) = self.started_ms else {
            return Ok(());
        };
        let old = self
            .rotation
            .max_age
            .is_some_and(|age| now_ms().saturating_sub(started) >= age.as_millis() as u64);
        if self.bytes < self.rotation.max_bytes && !old {
            return Ok(());
        }
        self.file.sync_data().map_err(AuditError::io(&self.path))?;
        let path = segment_path(&self.dir, next_seq);
        self.file = append(&path)?;
        // The new segment's name must survive a crash too.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(AuditError::io(&self.dir))?;
        self.path = path;
        self.bytes = 0;
        self.started_ms = None;
        Ok(())
    }
}

impl AuditSink for JsonlSink {
    fn head(&self) -> ChainHead {
        self.head.clone()
    }

    fn append(&mut self, lines: &[u8], records: &[AuditRecord]) -> Result<(), AuditError> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(());
        };
        self.rotate_if_due(first.seq)?;
        self.file
            .write_all(lines)
            .map_err(AuditError::io(&self.path))?;
        self.bytes += lines.len() as u64;
        self.started_ms.get_or_insert(first.time_ms);
        if let Some(head) = ChainHead::after(last) {
            self.head = head;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        self.file.sync_data().map_err(AuditError::io(&self.path))
    }
}

fn append(path: &Path) -> Result<File, AuditError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(AuditError::io(path))
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("audit-{first_seq:020}.jsonl"))
}

/// The segments of the store in `dir`, in chain order.
pub(super) fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("audit-") && name.ends_with(".jsonl") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The files a path names: a store directory's segments, or one file.
pub(super) fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_dir() {
        segments(path)
    } else {
        Ok(vec![path.to_owned()])
    }
}
