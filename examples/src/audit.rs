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

#[cfg(test)]
mod tests {
    use agent_gateway_core::response::Reply;
    use agent_gateway_core::{Action, BoxError, Call, RunId, Usage};
    use agent_gateway_policy::audit::Rotation;
    use serde_json::json;
    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn query_prints_a_runs_records_in_order_and_verify_names_a_bad_record() {
        let dir = std::env::temp_dir().join(format!("agw-example-query-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sink = JsonlSink::open(&dir, Rotation::default()).unwrap();
        let log = AuditLog::start(sink, AuditOptions::new()).unwrap();
        let svc = AuditLayer::new(log.clone()).layer(service_fn(|_: Call| async {
            Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step()))
        }));
        for (run, target) in [("r1", "a"), ("r2", "b"), ("r1", "c")] {
            let call = Call::new(Action::ToolCall, json!({}))
                .with_target(target)
                .with_run_id(RunId::new(run).unwrap());
            svc.clone().oneshot(call).await.unwrap();
        }
        log.flush().await.unwrap();
        let mut out = Vec::new();
        assert_eq!(query_command(&dir, "r1", &mut out), 0);
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let targets: Vec<_> = lines
            .iter()
            .map(|r| r["target"].as_str().unwrap())
            .collect();
        assert_eq!(targets, ["a", "c"]);
        // The kept head of an intact log passes; a log cut short of it does not.
        let head: ChainHead = audit::verify(&dir, None).unwrap().head;
        let mut out = Vec::new();
        assert_eq!(verify_command(&dir, Some(&head), &mut out), 0);
        let segment = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(&segment).unwrap();
        let kept: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&segment, kept).unwrap();
        let mut out = Vec::new();
        assert_eq!(verify_command(&dir, Some(&head), &mut out), 1);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("broken: record 2 "), "{out}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
