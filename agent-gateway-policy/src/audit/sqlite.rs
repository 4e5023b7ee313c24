//! [`SqliteSink`] (feature `sqlite`): the same sealed records and chain in a SQLite database,
//! indexed to answer "what did run R do, in order" and "what did this caller do between these
//! times" in one query each.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, RunId, Usage};
//! use agent_gateway_policy::audit::{AuditError, AuditLayer, AuditLog, AuditOptions, SqliteSink};
//! use serde_json::json;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let path = std::env::temp_dir().join(format!("agw-audit-doc-{}.db", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let log = AuditLog::start(SqliteSink::open(&path).unwrap(), AuditOptions::new()).unwrap();
//! let svc = AuditLayer::new(log.clone())
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step())) }));
//! let call = |run: &str| Call::new(Action::ToolCall, json!({})).with_run_id(RunId::new(run).unwrap());
//! svc.clone().oneshot(call("r1")).await.unwrap();
//! svc.clone().oneshot(call("r2")).await.unwrap();
//! log.flush().await.unwrap();
//! // A reader queries while the gateway writes; a second writer is refused.
//! let db = SqliteSink::open_reader(&path).unwrap();
//! assert_eq!(db.run("r2").unwrap().len(), 1);
//! assert_eq!(db.verify(None).unwrap().records, 2);
//! assert!(matches!(SqliteSink::open(&path), Err(AuditError::Locked { .. })));
//! # std::fs::remove_file(&path).unwrap();
//! # let _ = std::fs::remove_file(path.with_extension("db.lock"));
//! # });
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use super::AuditRecord;
use super::chain::{BadLine, ChainHead, unseal};
use super::lock::WriterLock;
use super::sink::{AuditError, AuditSink};
use super::verify::{Broken, Verified, Walk};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    principal TEXT,
    run_id TEXT,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_run ON audit (run_id, seq);
CREATE INDEX IF NOT EXISTS audit_caller ON audit (principal, time_ms, seq);
";

/// The audit chain in a SQLite database (WAL mode): each record's sealed line, as the JSONL
/// sink writes it, with its sequence number, hashes, time, caller and run in columns.
///
/// A batch is one transaction; [`sync`](AuditSink::sync) checkpoints the write-ahead log, which
/// fsyncs it. One writer at a time: [`open`](Self::open) takes an advisory lock on
/// `<path>.lock`, and a second writer fails with [`AuditError::Locked`]. Query while the
/// gateway writes through [`open_reader`](Self::open_reader).
#[derive(Debug)]
pub struct SqliteSink {
    conn: Connection,
    path: PathBuf,
    head: ChainHead,
    /// Held by a writer while it is open; `None` for a reader.
    _lock: Option<WriterLock>,
}

impl SqliteSink {
    /// Opens (creating it if needed) the database at `path` for writing, and finds where its
    /// chain ends. Fails with [`AuditError::Locked`] while another writer has it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let lock = WriterLock::acquire(&WriterLock::beside(&path))?;
        let conn = Connection::open(&path)?;
        conn.execute_batch(SCHEMA)?;
        Self::with_connection(conn, path, Some(lock))
    }

    /// Opens an existing database at `path` read-only, to query or verify it while a gateway
    /// may be writing it. Appending through it fails.
    pub fn open_reader(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        Self::with_connection(conn, path, None)
    }

    fn with_connection(
        conn: Connection,
        path: PathBuf,
        lock: Option<WriterLock>,
    ) -> Result<Self, AuditError> {
        let last: Option<String> = conn
            .query_row(
                "SELECT line FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let head = match last {
            None => ChainHead::start(),
            Some(line) => {
                let corrupt = |reason| AuditError::Corrupt {
                    path: path.clone(),
                    reason,
                };
                let record = unseal(line.as_bytes()).map_err(corrupt)?;
                ChainHead::after(&record).ok_or_else(|| corrupt(BadLine::Malformed))?
            }
        };
        Ok(SqliteSink {
            conn,
            path,
            head,
            _lock: lock,
        })
    }

    /// What run `run_id` did: its records, in chain order.
    pub fn run(&self, run_id: &str) -> Result<Vec<AuditRecord>, AuditError> {
        self.select(
            "SELECT line FROM audit WHERE run_id = ?1 ORDER BY seq",
            params![run_id],
        )
    }

    /// What the caller with `principal` ([`CallerRecord::principal`](super::CallerRecord))
    /// did from `from_ms` (inclusive) to `to_ms` (exclusive), in chain order.
    pub fn by_caller(
        &self,
        principal: &str,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let (from, to) = (clamp(from_ms), clamp(to_ms));
        self.select(
            "SELECT line FROM audit WHERE principal = ?1 AND time_ms >= ?2 AND time_ms < ?3 \
             ORDER BY seq",
            params![principal, from, to],
        )
    }

    /// Verifies the stored chain as [`verify`](super::verify) does a file (a row's number
    /// stands for the line).
    pub fn verify(&self, head: Option<&ChainHead>) -> Result<Verified, Broken> {
        let broken = |line, (seq, reason)| Broken {
            seq,
            file: self.path.clone(),
            line,
            reason,
        };
        let unreadable = |e: rusqlite::Error| {
            tracing::warn!(error = %e, "audit: cannot read the database");
            broken(
                0,
                (
                    0,
                    super::Reason::Unreadable(std::io::ErrorKind::InvalidData),
                ),
            )
        };
        let mut walk = Walk::default();
        let mut row = 0;
        let mut stmt = self
            .conn
            .prepare("SELECT line FROM audit ORDER BY seq")
            .map_err(unreadable)?;
        let mut rows = stmt.query([]).map_err(unreadable)?;
        while let Some(r) = rows.next().map_err(unreadable)? {
            row += 1;
            let line: String = r.get(0).map_err(unreadable)?;
            walk.step(line.as_bytes()).map_err(|e| broken(row, e))?;
        }
        let chain = walk.finish(head).map_err(|e| broken(row, e))?;
        Ok(Verified {
            records: chain.next_seq,
            head: chain,
            torn: None,
        })
    }

    fn select(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<AuditRecord>, AuditError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let lines = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for line in lines {
            let line = line?;
            let record = serde_json::from_str(&line).map_err(|_| AuditError::Corrupt {
                path: self.path.clone(),
                reason: BadLine::Malformed,
            })?;
            out.push(record);
        }
        Ok(out)
    }
}

#[cfg(test)]
impl SqliteSink {
    pub(super) fn conn_for_tests(&self) -> &Connection {
        &self.conn
    }
}

/// SQLite integers are signed; times past `i64::MAX` ms do not occur.
fn clamp(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

impl AuditSink for SqliteSink {
    fn head(&self) -> ChainHead {
        self.head.clone()
    }

    fn append(&mut self, lines: &[u8], records: &[AuditRecord]) -> Result<(), AuditError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit (seq, prev, hash, time_ms, principal, run_id, line) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (line, r) in lines.split(|&b| b == b'\n').zip(records) {
                // Serialized JSON is UTF-8.
                let line = std::str::from_utf8(line).unwrap_or_default();
                insert.execute(params![
                    clamp(r.seq),
                    r.prev,
                    r.hash,
                    clamp(r.time_ms),
                    r.caller.as_ref().map(|c| c.principal.as_str()),
                    r.run_id,
                    line
                ])?;
            }
        }
        tx.commit()?;
        if let Some(head) = records.last().and_then(ChainHead::after) {
            self.head = head;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        // A checkpoint fsyncs the write-ahead log before copying it into the database.
        self.conn
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))?;
        Ok(())
    }
}
