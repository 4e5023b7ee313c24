//! The `[audit]` table: where the hash-chained audit log goes and how durably it is written.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_examples::config::Config;
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

/// The audit log.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The directory of JSONL segments (relative paths are under the working directory).
    pub path: PathBuf,
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
        Ok(AuditConfig {
            path: file
                .path
                .unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_PATH)),
            fsync,
            rotation: Rotation { max_bytes, max_age },
            arguments,
            queue,
            overflow,
        })
    }
}
