//! What the audit tests share: a log in a fresh directory, and its records once flushed.

use std::path::PathBuf;

use agent_gateway_policy::audit::{self, AuditLog, AuditOptions, AuditRecord, JsonlSink, Rotation};

/// A log writing to a fresh directory named after `name` and this process.
pub(crate) fn log(name: &str) -> (PathBuf, AuditLog) {
    let dir = std::env::temp_dir().join(format!("agw-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sink = JsonlSink::open(&dir, Rotation::default()).unwrap();
    (
        dir.clone(),
        AuditLog::start(sink, AuditOptions::new()).unwrap(),
    )
}

/// Every record `log` wrote to `dir`, after a flush; the directory is removed.
pub(crate) async fn records(dir: &PathBuf, log: &AuditLog) -> Vec<AuditRecord> {
    log.flush().await.unwrap();
    let records = audit::read(dir).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    records
}
