//! The gateway's audit log: opened from `[audit]`, checked with `gateway audit verify` and read
//! with `gateway audit query`.
//!
//! ```
//! use agent_gateway_core::testkit::TestClient;
//! use agent_gateway_examples::{app, audit, config::Config, policy::Policies};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("agw-example-audit-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let toml = format!("[auth]\nrequired = false\n[audit]\npath = {:?}\nfsync = \"always\"\n", dir);
//! let config = Config::from_toml_str(&toml).unwrap();
//! let layer = audit::open(config.audit.as_ref().unwrap()).unwrap();
//! let policies = Policies::from_config(&config).await.unwrap().with_audit(layer);
//! let client = TestClient::new(app::router(&config, &policies).unwrap());
//! assert_eq!(client.get("/v1/whoami").send().await.status(), 200);
//!
//! let mut out = Vec::new();
//! assert_eq!(audit::verify_command(&dir, None, &mut out), 0);
//! assert!(String::from_utf8(out).unwrap().starts_with("ok: 1 records"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```

use std::io::Write;
use std::path::Path;

use agent_gateway_policy::audit::{
    self, AuditError, AuditLayer, AuditLog, AuditOptions, ChainHead, JsonlSink,
};

use crate::config::AuditConfig;

/// Opens the log `config` describes (recovering its chain's tail) and starts its writer.
pub fn open(config: &AuditConfig) -> Result<AuditLayer, AuditError> {
    let sink = JsonlSink::open(&config.path, config.rotation)?;
    if let Some(torn) = sink.torn() {
        tracing::warn!(
            path = %torn.path.display(),
            offset = torn.offset,
            bytes = torn.bytes,
            "audit: a torn last line (an unacknowledged write cut by a crash) was removed"
        );
    }
    let options = AuditOptions::new()
        .with_fsync(config.fsync)
        .with_queue(config.queue)
        .with_overflow(config.overflow);
    let log = AuditLog::start(sink, options)?;
    Ok(AuditLayer::new(log).with_arguments(config.arguments))
}

/// `gateway audit verify PATH [--head SEQ:HASH]`: prints the result to `out` and returns the
/// exit code, 0 when the chain is intact (up to a torn last line, reported), 1 otherwise.
pub fn verify_command(path: &Path, head: Option<&ChainHead>, out: &mut dyn Write) -> u8 {
    match audit::verify(path, head) {
        Ok(v) => {
            let _ = writeln!(out, "ok: {} records, head {}", v.records, v.head);
            if let Some(t) = v.torn {
                let _ = writeln!(
                    out,
                    "torn last line in {} at byte {} ({} bytes): a write cut by a crash, not tampering",
                    t.path.display(),
                    t.offset,
                    t.bytes
                );
            }
            0
        }
        Err(broken) => {
            let _ = writeln!(out, "broken: {broken}");
            1
        }
    }
}

/// `gateway audit query --run R [PATH]`: prints the run's records to `out`, one JSON object a
/// line, in chain order. Returns the exit code: 0, or 1 when the log cannot be read.
pub fn query_command(path: &Path, run: &str, out: &mut dyn Write) -> u8 {
    match audit::run(path, run) {
        Ok(records) => {
            for record in records {
                if let Ok(line) = serde_json::to_string(&record) {
                    let _ = writeln!(out, "{line}");
                }
            }
            0
        }
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            1
        }
    }
}
