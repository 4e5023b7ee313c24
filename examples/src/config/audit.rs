//! The `[audit]` table: where the hash-chained audit log goes and how durably it is written.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_examples::config::{AuditStore, Config};
//! use agent_gateway_policy::audit::Fsync;
//!
//! let config = Config::from_toml_str("[audit]\npath = \"/var/log/agw\"\nfsync = \"always\"\n").unwrap();
//! let audit = config.audit.unwrap();
//! assert_eq!(audit.path.to_str(), Some("/var/log/agw"));
//! assert_eq!(audit.fsync, Fsync::Always);
//! // Without the table there is no audit log; the embedded defaults have one.
//! assert!(Config::from_toml_str("").unwrap().audit.is_none());
//! assert!(Config::embedded_default().unwrap().audit.is_some());
//! assert!(Config::from_toml_str("[audit]\nfsync = \"sometimes\"\n").is_err());
//! assert!(Config::from_toml_str("[audit]\nfsink = \"always\"\n").is_err());
//! // A path ending in `.db` (or `sink = "sqlite"`) is the SQLite sink, which needs the
//! // `sqlite` feature: without it, a clear error rather than a JSONL directory named `x.db`.
//! match Config::from_toml_str("[audit]\npath = \"audit.db\"\n") {
//!     Ok(c) => assert_eq!(c.audit.unwrap().sink, AuditStore::Sqlite),
//!     Err(e) => assert!(e.to_string().contains("`sqlite` feature"), "{e}"),
//! }
//! assert!(Config::from_toml_str("[audit]\nsink = \"csv\"\n").is_err());
//! ```

use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_policy::audit::{
    Arguments, DEFAULT_FSYNC_INTERVAL, DEFAULT_QUEUE, DEFAULT_SEGMENT_BYTES, Fsync, Overflow,
    Rotation,
};
use serde::Deserialize;

use super::ConfigError;

/// Where the audit log goes when `[audit]` names no path: `audit/` under the gateway's working
/// directory, so that a restart in the same place continues the same chain.
pub const DEFAULT_AUDIT_PATH: &str = "audit";

/// Which store the audit log is written to (`[audit] sink`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditStore {
    /// A directory of hash-chained JSONL segments (the default).
    Jsonl,
    /// One SQLite database file (the `sqlite` feature), indexed by run and by caller and time.
    Sqlite,
}

/// The audit log.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The directory of JSONL segments, or the SQLite database file (relative paths are under
    /// the working directory).
    pub path: PathBuf,
    /// The store: `sink = "jsonl"` or `"sqlite"`; unset, SQLite when the path ends in `.db`.
    pub sink: AuditStore,
    /// When records are fsynced: `always`, `interval` or `never`.
    pub fsync: Fsync,
    /// When segments rotate: by size, and optionally by age.
    pub rotation: Rotation,
    /// Whether records keep arguments (`full`) or their digest (`digest`).
    pub arguments: Arguments,
    /// How many records may wait for the writer.
    pub queue: usize,
    /// What happens when the queue is full: `wait` (never lossy) or `drop` (counted).
    pub overflow: Overflow,
}

/// The table as the file spells it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAudit {
    path: Option<PathBuf>,
    sink: Option<String>,
    fsync: Option<String>,
    fsync_interval_ms: Option<u64>,
    segment_max_bytes: Option<u64>,
    segment_max_age_secs: Option<u64>,
    arguments: Option<String>,
    queue: Option<usize>,
    overflow: Option<String>,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileAudit> for AuditConfig {
    type Error = ConfigError;

    fn try_from(file: FileAudit) -> Result<Self, ConfigError> {
        let interval = match file.fsync_interval_ms {
            Some(0) => return Err(invalid("audit.fsync_interval_ms", "must be at least 1")),
            Some(ms) => Duration::from_millis(ms),
            None => DEFAULT_FSYNC_INTERVAL,
        };
        let fsync = match file.fsync.as_deref().unwrap_or("interval") {
            "always" => Fsync::Always,
            "interval" => Fsync::Interval(interval),
            "never" => Fsync::Never,
            other => {
                return Err(invalid(
                    "audit.fsync",
                    format!("`{other}`: expected always, interval or never"),
                ));
            }
        };
        let max_bytes = match file.segment_max_bytes {
            Some(0) => return Err(invalid("audit.segment_max_bytes", "must be at least 1")),
            Some(n) => n,
            None => DEFAULT_SEGMENT_BYTES,
        };
        let max_age = match file.segment_max_age_secs {
            Some(0) => return Err(invalid("audit.segment_max_age_secs", "must be at least 1")),
            secs => secs.map(Duration::from_secs),
        };
        let arguments = match file.arguments.as_deref().unwrap_or("digest") {
            "digest" => Arguments::Digest,
            "full" => Arguments::Full,
            other => {
                return Err(invalid(
                    "audit.arguments",
                    format!("`{other}`: expected digest or full"),
                ));
            }
        };
        let overflow = match file.overflow.as_deref().unwrap_or("wait") {
            "wait" => Overflow::Wait,
            "drop" => Overflow::Drop,
            other => {
                return Err(invalid(
                    "audit.overflow",
                    format!("`{other}`: expected wait or drop"),
                ));
            }
        };
        let queue = match file.queue {
            Some(0) => return Err(invalid("audit.queue", "must be at least 1")),
            Some(n) => n,
            None => DEFAULT_QUEUE,
        };
        let path = file
            .path
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_PATH));
        let sink = store(file.sink.as_deref(), &path)?;
        if sink == AuditStore::Sqlite
            && (file.segment_max_bytes.is_some() || file.segment_max_age_secs.is_some())
        {
            return Err(invalid(
                "audit.segment_max_bytes",
                "segments are the jsonl sink's; the sqlite sink keeps one database file",
            ));
        }
        Ok(AuditConfig {
            path,
            sink,
            fsync,
            rotation: Rotation { max_bytes, max_age },
            arguments,
            queue,
            overflow,
        })
    }
}

/// The store `sink` names, or the one the path implies (`.db`: SQLite); SQLite only when the
/// gateway was built with it.
fn store(sink: Option<&str>, path: &std::path::Path) -> Result<AuditStore, ConfigError> {
    let store = match sink {
        Some("jsonl") => AuditStore::Jsonl,
        Some("sqlite") => AuditStore::Sqlite,
        Some(other) => {
            return Err(invalid(
                "audit.sink",
                format!("`{other}`: expected jsonl or sqlite"),
            ));
        }
        None if path.extension().is_some_and(|e| e == "db") => AuditStore::Sqlite,
        None => AuditStore::Jsonl,
    };
    if store == AuditStore::Sqlite && !cfg!(feature = "sqlite") {
        return Err(invalid(
            "audit.sink",
            "the sqlite sink needs the gateway built with the `sqlite` feature \
             (cargo build -p agent-gateway-examples --features sqlite)",
        ));
    }
    Ok(store)
}
