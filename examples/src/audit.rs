//! The gateway's audit log: opened from `[audit]` (a JSONL directory, or a SQLite database
//! with the `sqlite` feature), checked with `gateway audit verify` and read with
//! `gateway audit query` (by run, by caller, by time range), on either store.
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
    self, AuditError, AuditLayer, AuditLog, AuditOptions, AuditRecord, ChainHead, JsonlSink,
};

use crate::config::AuditConfig;

/// Opens the log `config` describes (recovering its chain's tail) and starts its writer. Fails
/// with [`AuditError::Locked`] when another gateway is writing the same log.
pub fn open(config: &AuditConfig) -> Result<AuditLayer, AuditError> {
    let options = AuditOptions::new()
        .with_fsync(config.fsync)
        .with_queue(config.queue)
        .with_overflow(config.overflow);
    let log = match config.sink {
        #[cfg(feature = "sqlite")]
        crate::config::AuditStore::Sqlite => {
            AuditLog::start(audit::SqliteSink::open(&config.path)?, options)?
        }
        _ => AuditLog::start(open_jsonl(config)?, options)?,
    };
    Ok(AuditLayer::new(log).with_arguments(config.arguments))
}

fn open_jsonl(config: &AuditConfig) -> Result<JsonlSink, AuditError> {
    let sink = JsonlSink::open(&config.path, config.rotation)?;
    if let Some(torn) = sink.torn() {
        tracing::warn!(
            path = %torn.path.display(),
            offset = torn.offset,
            bytes = torn.bytes,
            "audit: a torn last line (an unacknowledged write cut by a crash) was removed"
        );
    }
    Ok(sink)
}

/// Whether `path` is a SQLite database (by its header), rather than a JSONL store.
fn is_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"SQLite format 3\0")
}

/// `gateway audit verify PATH [--head SEQ:HASH]`: prints the result to `out` and returns the
/// exit code, 0 when the chain is intact (up to a torn last line, reported), 1 otherwise.
pub fn verify_command(path: &Path, head: Option<&ChainHead>, out: &mut dyn Write) -> u8 {
    let verified = if is_sqlite(path) {
        verify_sqlite(path, head, out)
    } else {
        Some(audit::verify(path, head))
    };
    let Some(verified) = verified else { return 1 };
    match verified {
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

/// What `gateway audit query` selects: records of a run, of a caller, in a time range (all
/// given filters apply). A run or a caller is required: each is one indexed query on SQLite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// `--run RUN`: the run's records.
    pub run: Option<String>,
    /// `--caller PRINCIPAL`: the caller's records, by principal id
    /// (`method:issuer:tenant:subject`, as records carry it).
    pub caller: Option<String>,
    /// `--from MS`: records of calls at or after this time (ms since the Unix epoch).
    pub from_ms: Option<u64>,
    /// `--to MS`: records of calls before this time (ms since the Unix epoch).
    pub to_ms: Option<u64>,
}

impl Query {
    /// The records of run `run`.
    pub fn run(run: impl Into<String>) -> Self {
        Query {
            run: Some(run.into()),
            ..Query::default()
        }
    }

    /// The records of the caller with principal id `principal`.
    pub fn caller(principal: impl Into<String>) -> Self {
        Query {
            caller: Some(principal.into()),
            ..Query::default()
        }
    }

    /// Only records from `from_ms` (inclusive) to `to_ms` (exclusive).
    pub fn between(mut self, from_ms: Option<u64>, to_ms: Option<u64>) -> Self {
        (self.from_ms, self.to_ms) = (from_ms, to_ms);
        self
    }

    fn matches(&self, r: &AuditRecord) -> bool {
        let principal = r.caller.as_ref().map(|c| c.principal.as_str());
        self.run
            .as_ref()
            .is_none_or(|run| r.run_id.as_ref() == Some(run))
            && self.caller.as_deref().is_none_or(|c| principal == Some(c))
            && self.from_ms.is_none_or(|from| r.time_ms >= from)
            && self.to_ms.is_none_or(|to| r.time_ms < to)
    }
}

/// `gateway audit query (--run RUN | --caller PRINCIPAL) [--from MS] [--to MS] [PATH]`: prints
/// the matching records to `out`, one JSON object a line, in chain order, from a JSONL store
/// or a SQLite database. Returns the exit code: 0, or 1 when the log cannot be read.
pub fn query_command(path: &Path, query: &Query, out: &mut dyn Write) -> u8 {
    if query.run.is_none() && query.caller.is_none() {
        let _ = writeln!(
            out,
            "error: audit query needs --run RUN or --caller PRINCIPAL"
        );
        return 1;
    }
    match select(path, query) {
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

fn select(path: &Path, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
    let mut records = if is_sqlite(path) {
        select_sqlite(path, query)?
    } else if let Some(run) = &query.run {
        audit::run(path, run)?
    } else {
        audit::read(path)?
    };
    records.retain(|r| query.matches(r));
    Ok(records)
}

#[cfg(feature = "sqlite")]
fn select_sqlite(path: &Path, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
    let db = audit::SqliteSink::open_reader(path)?;
    match (&query.run, &query.caller) {
        (Some(run), _) => db.run(run),
        (None, Some(caller)) => db.by_caller(
            caller,
            query.from_ms.unwrap_or(0),
            query.to_ms.unwrap_or(u64::MAX),
        ),
        // `query_command` requires one of them.
        (None, None) => Ok(Vec::new()),
    }
}

#[cfg(not(feature = "sqlite"))]
fn select_sqlite(path: &Path, _: &Query) -> Result<Vec<AuditRecord>, AuditError> {
    Err(AuditError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("a SQLite audit log: build with the `sqlite` feature"),
    })
}

#[cfg(feature = "sqlite")]
fn verify_sqlite(
    path: &Path,
    head: Option<&ChainHead>,
    out: &mut dyn Write,
) -> Option<Result<audit::Verified, audit::Broken>> {
    match audit::SqliteSink::open_reader(path) {
        Ok(db) => Some(db.verify(head)),
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            None
        }
    }
}

#[cfg(not(feature = "sqlite"))]
fn verify_sqlite(
    _: &Path,
    _: Option<&ChainHead>,
    out: &mut dyn Write,
) -> Option<Result<audit::Verified, audit::Broken>> {
    let _ = writeln!(
        out,
        "error: a SQLite audit log: build with the `sqlite` feature"
    );
    None
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
        assert_eq!(query_command(&dir, &Query::run("r1"), &mut out), 0);
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
        // The one segment (the directory also holds the writer's lock file).
        let segment = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .unwrap();
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
