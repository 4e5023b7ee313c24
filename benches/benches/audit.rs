//! The audit layer writing to the JSONL file sink under each fsync policy, against the bare
//! service, per call; and the writer's throughput in records per second.
//!
//! Rows drive the same in-process service with `oneshot` on a current-thread runtime (the
//! writer has its own thread), so they read as ratios to the baseline. The `always` row waits
//! for an fsync per call (one caller at a time: no batch to share it with), so it measures the
//! disk as much as the layer.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_core::response::Reply;
use agent_gateway_core::{Action, BoxError, Call, Caller, Usage};
use agent_gateway_policy::audit::{
    Arguments, AuditLayer, AuditLog, AuditOptions, AuditRecord, AuditTapLayer, Fsync, JsonlSink,
    Rotation,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tower::{Layer, Service, ServiceExt, service_fn};

/// Records per iteration of the throughput row.
const BATCH: u64 = 64 * 160;

fn bare() -> impl Service<Call, Response = Reply, Error = BoxError, Future: Send> + Clone {
    service_fn(|_call: Call| async {
        Ok::<_, BoxError>(Reply::with_usage(
            json!({"ok": true}),
            Usage::tokens(10, 20),
        ))
    })
}

fn call() -> Call {
    Call::new(Action::ToolCall, json!({"path": "/data/x"}))
        .with_target("fs.read")
        .with_caller(Caller::new("bench").with_tenant("acme"))
}

/// A model call's body of about 64 KiB: what the LLM front hands the seam as its arguments.
fn big_call() -> Call {
    let turns: Vec<_> = (0..256)
        .map(|i| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": "x".repeat(240)}))
        .collect();
    Call::new(
        Action::ModelCall,
        json!({"model": "gpt-4o", "messages": turns}),
    )
    .with_target("gpt-4o")
    .with_caller(Caller::new("bench").with_tenant("acme"))
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agw-bench-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn log(dir: &PathBuf, fsync: Fsync) -> AuditLog {
    let sink = JsonlSink::open(dir, Rotation::default()).unwrap();
    AuditLog::start(sink, AuditOptions::new().with_fsync(fsync)).unwrap()
}

fn audit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let req = call();
    let svc = bare();
    c.bench_function("audit/baseline_bare_service", |b| {
        b.iter(|| black_box(rt.block_on(svc.clone().oneshot(req.clone())).unwrap()))
    });
    for (name, fsync) in [
        ("never", Fsync::Never),
        ("interval_1s", Fsync::Interval(Duration::from_secs(1))),
        ("always", Fsync::Always),
    ] {
        let dir = dir(name);
        let log = log(&dir, fsync);
        let svc = AuditLayer::new(log.clone()).layer(bare());
        c.bench_function(&format!("audit/jsonl_fsync_{name}"), |b| {
            b.iter(|| black_box(rt.block_on(svc.clone().oneshot(req.clone())).unwrap()))
        });
        rt.block_on(log.flush()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    // The runnable gateway's shape: the audit layer outside, a tap after auth and one before the
    // upstream, over a ~64 KiB model body, against the bare service with the same body. The
    // arguments are serialised and hashed once per call, however many taps refresh the record.
    let big = big_call();
    c.bench_function("audit/baseline_bare_service_64k", |b| {
        b.iter(|| black_box(rt.block_on(svc.clone().oneshot(big.clone())).unwrap()))
    });
    for (name, arguments) in [("digest", Arguments::Digest), ("full", Arguments::Full)] {
        let dir = dir(&format!("taps-{name}"));
        let log = log(&dir, Fsync::Never);
        let svc = AuditLayer::new(log.clone())
            .with_arguments(arguments)
            .layer(AuditTapLayer.layer(AuditTapLayer.layer(bare())));
        c.bench_function(&format!("audit/two_taps_64k_{name}"), |b| {
            b.iter(|| black_box(rt.block_on(svc.clone().oneshot(big.clone())).unwrap()))
        });
        rt.block_on(log.flush()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    // The writer alone: records sealed, written and synced per second.
    let mut group = c.benchmark_group("audit_sink");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    for (name, fsync) in [("never", Fsync::Never), ("always", Fsync::Always)] {
        let dir = dir(&format!("sink-{name}"));
        let log = log(&dir, fsync);
        let mut record = AuditRecord::default();
        record.protocol = "mcp".into();
        record.action = "tool_call".into();
        record.target = Some("fs.read".into());
        group.bench_function(format!("jsonl_records_fsync_{name}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    // Submitted from many tasks at once, as concurrent calls do, so batches
                    // (and, with `always`, fsyncs) are shared.
                    let tasks: Vec<_> = (0..64)
                        .map(|_| {
                            let (log, record) = (log.clone(), record.clone());
                            tokio::spawn(async move {
                                for _ in 0..BATCH / 64 {
                                    log.submit(record.clone()).await.unwrap();
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    log.flush().await.unwrap();
                })
            })
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

criterion_group!(benches, audit);
criterion_main!(benches);
