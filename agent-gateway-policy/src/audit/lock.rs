//! The one-writer lock of an audit store: an advisory, `flock`-style lock on a file beside the
//! store, held for as long as the store is open for writing.
//!
//! Two writers on one store would each continue the chain from the same head and fork it. The
//! lock makes the second one fail to open instead. The operating system releases it when the
//! holder exits, however it exits (a `SIGKILL` included), so a restart never finds it stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::sink::AuditError;

/// The lock file's name inside a JSONL store's directory.
pub(super) const LOCK_FILE: &str = "audit.lock";

/// An exclusive lock on a store, released when dropped.
#[derive(Debug)]
pub(super) struct WriterLock {
    /// Holding the open file holds the lock.
    _file: File,
}

impl WriterLock {
    /// Takes the lock on `path` (created if needed), or fails with [`AuditError::Locked`] when
    /// another writer holds it.
    pub(super) fn acquire(path: &Path) -> Result<Self, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(AuditError::io(path))?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(AuditError::Locked {
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(e)) => Err(AuditError::io(path)(e)),
        }
    }

    /// The lock file of a store kept in one file (SQLite): `<file>.lock`.
    #[cfg(feature = "sqlite")]
    pub(super) fn beside(path: &Path) -> std::path::PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        std::path::PathBuf::from(name)
    }
}
