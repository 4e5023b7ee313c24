use std::path::{Path, PathBuf};

use agent_gateway_core::response::{Outcome, Reply, ServedBy};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{
    Action, AgentRequest, BoxError, Call, Caller, Cost, Denied, DeniedKind, RunId, Usage,
};
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use tower::{Layer, ServiceBuilder, ServiceExt};

use super::chain::ChainHead;
use super::*;
use crate::ServiceBuilderExt;

pub(super) fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agw-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn log(dir: &Path, fsync: Fsync) -> AuditLog {
    let sink = JsonlSink::open(dir, Rotation::default()).unwrap();
    AuditLog::start(sink, AuditOptions::new().with_fsync(fsync)).unwrap()
}

pub(super) fn ok_upstream() -> FakeUpstream<impl Fn(Call) -> Result<Reply, BoxError> + Clone> {
    FakeUpstream::new(|_: Call| {
        Ok::<_, BoxError>(Reply::with_usage(
            json!("ok"),
            Usage::tokens(3, 4).with_cost(Cost::from_nano_usd(9)),
        ))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_calls_leave_a_hundred_thousand_records_and_verify() {
    const CALLS: u64 = 100_000;
    let dir = dir("100k");
    let log = log(&dir, Fsync::Never);
    let upstream = ok_upstream();
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()))
        .check(|req: &dyn AgentRequest| match req.target() {
            Some("fs.delete") => Err(Denied::forbidden("no").with_rule("no-deletes")),
            _ => Ok(()),
        })
        .layer(AuditTapLayer)
        .service(upstream.clone());
    let workers: Vec<_> = (0..8u64)
        .map(|w| {
            let stack = stack.clone();
            tokio::spawn(async move {
                for i in (w..CALLS).step_by(8) {
                    let target = if i % 10 == 0 { "fs.delete" } else { "fs.read" };
                    let call = Call::new(Action::ToolCall, json!({"i": i}))
                        .with_target(target)
                        .with_caller(Caller::new("ann"));
                    let result = stack.clone().oneshot(call).await;
                    assert_eq!(result.is_ok(), i % 10 != 0);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    log.flush().await.unwrap();
    assert_eq!(log.written(), CALLS);
    assert_eq!(log.dropped(), 0);
    let verified = verify(&dir, None).unwrap();
    assert_eq!(verified.records, CALLS);
    assert!(verified.torn.is_none());
    let records = read(&dir).unwrap();
    let denied = records.iter().filter(|r| r.decision == "deny").count() as u64;
    assert_eq!(denied, CALLS / 10);
    assert_eq!(upstream.calls() as u64, CALLS - CALLS / 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_record_holds_the_call_its_decision_and_its_outcome() {
    let dir = dir("fields");
    let log = log(&dir, Fsync::Always);
    let served = FakeUpstream::new(|_: Call| {
        let usage = Usage::tokens(3, 4).with_cost(Cost::from_nano_usd(9));
        Ok::<_, BoxError>(
            Reply::with_usage(json!("ok"), usage)
                .with_served_by(ServedBy::new("search").with_instance("search-2")),
        )
    });
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()).with_arguments(Arguments::Full))
        .layer(AuditTapLayer)
        .service(served);
    let mut headers = HeaderMap::new();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    headers.insert("traceparent", HeaderValue::from_str(&traceparent).unwrap());
    let caller = Caller::new("ann")
        .with_tenant("acme")
        .with_issuer("https://idp");
    let call = Call::new(Action::ModelCall, json!({"q": 1}))
        .with_protocol("llm")
        .with_target("gpt")
        .with_caller(caller.clone())
        .with_run_id(RunId::new("run-1").unwrap())
        .with_headers(headers);
    stack.oneshot(call).await.unwrap();
    log.flush().await.unwrap();
    let r = read(&dir).unwrap().remove(0);
    let who = r.caller.as_ref().unwrap();
    assert_eq!(who.principal, caller.principal_id());
    assert_eq!(
        (who.issuer.as_deref(), who.tenant.as_deref()),
        (Some("https://idp"), Some("acme"))
    );
    assert_eq!(
        (r.protocol.as_str(), r.action.as_str()),
        ("llm", "model_call")
    );
    assert_eq!(r.target.as_deref(), Some("gpt"));
    let kept = r.arguments.as_ref().unwrap();
    assert_eq!(kept.to_value().unwrap(), json!({"q": 1}));
    // The digest is of the very text kept.
    use sha2::Digest as _;
    let digest = super::record::hex(&sha2::Sha256::digest(kept.get().as_bytes()));
    assert_eq!(r.arguments_sha256, Some(digest));
    assert_eq!((r.decision.as_str(), r.outcome.as_str()), ("allow", "ok"));
    let usage = r.usage.unwrap();
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.cost_nano_usd),
        (3, 4, Some(9))
    );
    assert_eq!(r.run_id.as_deref(), Some("run-1"));
    assert_eq!(r.trace_id.as_deref(), Some(trace));
    assert_eq!(
        (r.upstream.as_deref(), r.instance.as_deref()),
        (Some("search"), Some("search-2"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn denials_from_inside_are_recorded_with_the_caller_a_tap_saw() {
    let dir = dir("denied");
    let log = log(&dir, Fsync::Always);
    let upstream = ok_upstream();
    // The caller is set further in (as auth does); the tap after it refreshes the record.
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()))
        .map_request(|mut call: Call| {
            call.set_caller(Caller::new("bob"));
            call
        })
        .layer(AuditTapLayer)
        .check(|_: &dyn AgentRequest| {
            Err(Denied::budget_exhausted("spent").with_rule("budget:key:bob"))
        })
        .service(upstream.clone());
    let err = stack
        .oneshot(Call::new(Action::ToolCall, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        Denied::find(err.as_ref()).unwrap().kind(),
        &DeniedKind::BudgetExhausted
    );
    log.flush().await.unwrap();
    let r = read(&dir).unwrap().remove(0);
    assert_eq!(r.caller.map(|c| c.subject), Some("bob".to_owned()));
    assert_eq!(
        (r.decision.as_str(), r.outcome.as_str()),
        ("deny", "denied")
    );
    assert_eq!(r.error_kind.as_deref(), Some("budget_exhausted"));
    assert_eq!(r.rule.as_deref(), Some("budget:key:bob"));
    assert_eq!(upstream.calls(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_stream_is_recorded_when_it_ends_with_how_it_ended() {
    use agent_gateway_core::response::Failure;
    let cases = [
        (Outcome::Complete, "ok", None),
        (Outcome::Aborted, "aborted", None),
        (Outcome::Failed(Failure::Timeout), "failed", Some("timeout")),
        (
            Outcome::Failed(Failure::Unavailable),
            "failed",
            Some("unavailable"),
        ),
        (
            Outcome::Failed(Failure::Upstream),
            "failed",
            Some("upstream"),
        ),
    ];
    for (outcome, recorded, kind) in cases {
        let dir = dir(&format!("stream-{recorded}-{}", kind.unwrap_or("")));
        let log = log(&dir, Fsync::Never);
        let pending = Reply::new(json!("streaming"));
        let report = pending.usage_report().unwrap().clone();
        let reply = pending.clone();
        let svc = AuditLayer::new(log.clone()).layer(FakeUpstream::new(move |_: Call| {
            Ok::<_, BoxError>(reply.clone())
        }));
        svc.oneshot(Call::new(Action::ModelCall, json!({})))
            .await
            .unwrap();
        log.flush().await.unwrap();
        assert_eq!(log.written(), 0, "nothing until the stream ends");
        report.complete(Usage::tokens(1, 7), outcome);
        log.flush().await.unwrap();
        let r = read(&dir).unwrap().remove(0);
        assert_eq!(
            (r.outcome.as_str(), r.error_kind.as_deref()),
            (recorded, kind)
        );
        assert_eq!(r.decision, "allow");
        assert_eq!(r.usage.map(|u| u.output_tokens), Some(7));
        assert!(r.duration_ms.is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn a_log_that_cannot_write_fails_calls_closed() {
    struct Broken;
    impl AuditSink for Broken {
        fn head(&self) -> ChainHead {
            ChainHead::start()
        }
        fn append(&mut self, _: &[u8], _: &[AuditRecord]) -> Result<(), AuditError> {
            Err(AuditError::Closed)
        }
        fn sync(&mut self) -> Result<(), AuditError> {
            Ok(())
        }
    }
    let log = AuditLog::start(Broken, AuditOptions::new().with_fsync(Fsync::Always)).unwrap();
    let upstream = ok_upstream();
    let svc = AuditLayer::new(log.clone()).layer(upstream.clone());
    let err = svc
        .oneshot(Call::new(Action::ToolCall, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        Denied::find(err.as_ref()).unwrap().kind(),
        &DeniedKind::Unavailable
    );
    assert_eq!(log.failed(), 1);
}

/// A sink whose writes wait for the test's go-ahead, counting what it stored.
struct Gated {
    go: std::sync::mpsc::Receiver<()>,
    stored: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AuditSink for Gated {
    fn head(&self) -> ChainHead {
        ChainHead::start()
    }
    fn append(&mut self, _: &[u8], records: &[AuditRecord]) -> Result<(), AuditError> {
        let _ = self.go.recv();
        let n = records.len() as u64;
        self.stored
            .fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn sync(&mut self) -> Result<(), AuditError> {
        Ok(())
    }
}

#[tokio::test]
async fn dropping_on_overflow_is_explicit_and_counted() {
    let (go, gate) = std::sync::mpsc::channel();
    let stored = std::sync::Arc::default();
    let sink = Gated {
        go: gate,
        stored: std::sync::Arc::clone(&stored),
    };
    let options = AuditOptions::new()
        .with_queue(1)
        .with_overflow(Overflow::Drop);
    let log = AuditLog::start(sink, options).unwrap();
    // The writer holds at most one batch and the queue one record: the rest are dropped.
    for _ in 0..10 {
        log.submit(AuditRecord::default()).await.unwrap();
    }
    assert!(log.dropped() >= 8, "{}", log.dropped());
    for _ in 0..10 {
        go.send(()).unwrap();
    }
    log.flush().await.unwrap();
    let stored = stored.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(stored, log.written());
    assert_eq!(log.written() + log.dropped(), 10);
}
