//! [`AuditSink`]: where sealed records go.

use super::chain::ChainHead;

/// A store of sealed audit records: the JSONL file ([`JsonlSink`](super::JsonlSink)), SQLite
/// (feature `sqlite`), or your own.
///
/// A sink is driven by one writer thread ([`AuditLog`](super::AuditLog)), so its methods block
/// and take `&mut self`. The writer seals records into the chain; the sink stores the lines as
/// given, in order, and says where its chain ends so that a restart continues it.
pub trait AuditSink: Send + 'static {
    /// Where the stored chain ends: [`ChainHead::start`] for an empty store.
    fn head(&self) -> ChainHead;

    /// Appends sealed records, in order. `lines` holds each record's line (with its `\n`),
    /// `records` the same records, for sinks that index them.
    fn append(&mut self, lines: &[u8], records: &[super::AuditRecord]) -> Result<(), AuditError>;

    /// Makes everything appended so far durable (fsync).
    fn sync(&mut self) -> Result<(), AuditError>;
}

impl<T: AuditSink + ?Sized> AuditSink for Box<T> {
    fn head(&self) -> ChainHead {
        (**self).head()
    }

    fn append(&mut self, lines: &[u8], records: &[super::AuditRecord]) -> Result<(), AuditError> {
        (**self).append(lines, records)
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        (**self).sync()
    }
}

/// An audit store that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing the store failed.
    #[error("audit store I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The stored chain's last record cannot be read, so the chain cannot continue.
    #[error("audit store {path}: its last record is unreadable ({reason})")]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: super::chain::BadLine,
    },
    /// The SQLite database failed.
    #[cfg(feature = "sqlite")]
    #[error("audit database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Another writer holds the store's lock: one gateway writes a log at a time, so that
    /// two never fork its chain.
    #[error(
        "audit store locked by another writer ({path} is held): another gateway is writing this log; give each gateway its own audit path"
    )]
    Locked {
        /// The lock file.
        path: std::path::PathBuf,
    },
    /// The writer has stopped: the audit log was closed or its thread failed.
    #[error("the audit writer has stopped")]
    Closed,
}

impl AuditError {
    pub(super) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
        move |source| AuditError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
