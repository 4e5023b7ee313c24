//! The chain across segments, restarts and a torn line; each tamper case; the SQLite sink.

use std::path::Path;

#[cfg(feature = "sqlite")]
use agent_gateway_core::{Action, AgentRequest, Call, Caller, Denied, RunId};
#[cfg(feature = "sqlite")]
use serde_json::json;
#[cfg(feature = "sqlite")]
use tower::{ServiceBuilder, ServiceExt};

use super::chain::{ChainHead, seal};
use super::tests::dir;
#[cfg(feature = "sqlite")]
use super::tests::ok_upstream;
use super::*;
#[cfg(feature = "sqlite")]
use crate::ServiceBuilderExt;

/// Writes `n` records through a log, with segments of `max_bytes`.
async fn write(dir: &Path, n: u64, max_bytes: u64) {
    let rotation = Rotation {
        max_bytes,
        max_age: None,
    };
    let log =
        AuditLog::start(JsonlSink::open(dir, rotation).unwrap(), AuditOptions::new()).unwrap();
    for i in 0..n {
        let record = AuditRecord {
            target: Some(format!("t{i}")),
            ..AuditRecord::default()
        };
        log.submit(record).await.unwrap();
        log.flush().await.unwrap(); // one batch each, so segments rotate between records
    }
    // Releases the store's lock before the next writer opens it.
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_chain_continues_across_segments_and_restarts_and_a_torn_line_is_cut() {
    let dir = dir("restart");
    write(&dir, 5, 300).await;
    write(&dir, 5, 300).await;
    let segments = file::segments(&dir).unwrap();
    assert!(segments.len() > 2, "{segments:?}");
    assert_eq!(verify(&dir, None).unwrap().records, 10);
    // A crash mid-write leaves a torn last line: verify reports it, not tampering.
    let last = segments.last().unwrap();
    let mut data = std::fs::read(last).unwrap();
    data.extend_from_slice(b"{\"seq\":10,\"prev\":\"ab");
    std::fs::write(last, &data).unwrap();
    let verified = verify(&dir, None).unwrap();
    assert_eq!(verified.records, 10);
    assert_eq!(verified.torn.as_ref().map(|t| t.bytes), Some(20));
    // Reopening cuts it and continues the chain.
    let sink = JsonlSink::open(&dir, Rotation::default()).unwrap();
    assert_eq!(sink.torn().map(|t| t.bytes), Some(20));
    assert_eq!(sink.head().next_seq, 10);
    drop(sink);
    write(&dir, 2, u64::MAX).await;
    let verified = verify(&dir, None).unwrap();
    assert_eq!((verified.records, verified.torn), (12, None));
    let targets: Vec<_> = read(&dir)
        .unwrap()
        .into_iter()
        .map(|r| r.target.unwrap())
        .collect();
    assert_eq!(targets[9..], ["t4", "t0", "t1"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_second_writer_on_the_same_store_is_refused_until_the_first_closes() {
    let dir = dir("lock");
    let first = JsonlSink::open(&dir, Rotation::default()).unwrap();
    let log = AuditLog::start(first, AuditOptions::new()).unwrap();
    log.submit(AuditRecord::default()).await.unwrap();
    log.flush().await.unwrap();
    // A second gateway on the same path: a clear error, and the chain is not forked.
    let err = JsonlSink::open(&dir, Rotation::default()).unwrap_err();
    assert!(
        matches!(&err, AuditError::Locked { path } if path.ends_with("audit.lock")),
        "{err}"
    );
    assert!(err.to_string().contains("another gateway"), "{err}");
    log.submit(AuditRecord::default()).await.unwrap();
    log.close().await.unwrap();
    // Closed: the next writer opens it and continues the one chain.
    let next = JsonlSink::open(&dir, Rotation::default()).unwrap();
    assert_eq!(next.head().next_seq, 2);
    drop(next);
    assert_eq!(verify(&dir, None).unwrap().records, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ten sealed records, as lines without their `\n`.
fn chain_of_ten() -> (Vec<Vec<u8>>, ChainHead) {
    let mut head = ChainHead::start();
    let lines = (0..10)
        .map(|i| {
            let record = AuditRecord {
                target: Some(format!("tool-{i}")),
                ..AuditRecord::default()
            };
            let mut line = seal(record, &mut head);
            line.pop();
            line
        })
        .collect();
    (lines, head)
}

/// A record sealed after `lines[..at]` with `edit` applied: a forgery by someone who knows the
/// (keyless) hash.
fn forged(lines: &[Vec<u8>], at: usize, edit: impl FnOnce(&mut AuditRecord)) -> Vec<u8> {
    let mut head = ChainHead::start();
    if at > 0 {
        head = ChainHead::after(&chain::unseal(&lines[at - 1]).unwrap()).unwrap();
    }
    let mut record = chain::unseal(&lines[at]).unwrap();
    edit(&mut record);
    let mut line = seal(record, &mut head);
    line.pop();
    line
}

#[test]
fn each_tamper_case_fails_verify_at_the_right_record() {
    let (lines, head) = chain_of_ten();
    type Tamper = fn(&mut Vec<Vec<u8>>);
    /// A name, the tampering, whether the kept head is given, and where verify must fail.
    type Case = (&'static str, Tamper, bool, Option<(u64, Reason)>);
    let cases: [Case; 11] = [
        ("intact", |_| {}, false, None),
        (
            "modified",
            |l| {
                l[4] = String::from_utf8(l[4].clone())
                    .unwrap()
                    .replace("tool-4", "tool-X")
                    .into_bytes();
            },
            false,
            Some((4, Reason::Modified)),
        ),
        (
            "deleted",
            |l| {
                l.remove(4);
            },
            false,
            Some((4, Reason::Missing { found: 5 })),
        ),
        (
            "duplicated",
            |l| {
                let copy = l[2].clone();
                l.insert(5, copy);
            },
            false,
            Some((5, Reason::OutOfPlace { found: 2 })),
        ),
        (
            "inserted with a valid hash",
            |l| {
                let fake = forged(l, 5, |r| r.target = Some("fake".into()));
                l.insert(5, fake);
            },
            false,
            Some((6, Reason::OutOfPlace { found: 5 })),
        ),
        (
            "reordered",
            |l| l.swap(4, 5),
            false,
            Some((4, Reason::Missing { found: 5 })),
        ),
        (
            "garbage line",
            |l| l.insert(5, b"{\"hello\":1}".to_vec()),
            false,
            Some((5, Reason::Malformed)),
        ),
        (
            "replaced, resealed",
            |l| {
                l[5] = forged(l, 5, |r| r.target = Some("fake".into()));
            },
            false,
            Some((6, Reason::ChainBroken)),
        ),
        (
            "tail truncated, against the kept head",
            |l| l.truncate(7),
            true,
            Some((7, Reason::Truncated { expected: 10 })),
        ),
        (
            "suffix rewritten, against the kept head",
            |l| {
                for i in 8..10 {
                    l[i] = forged(l, i, |r| r.target = Some("fake".into()));
                }
            },
            true,
            Some((9, Reason::HeadMismatch)),
        ),
        // Documented: without a kept head, a cut tail is a shorter valid chain.
        ("tail truncated, no head", |l| l.truncate(7), false, None),
    ];
    let dir = dir("tamper");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, tamper, with_head, expected) in cases {
        let mut tampered = lines.clone();
        tamper(&mut tampered);
        let path = dir.join("audit-00000000000000000000.jsonl");
        let mut data = tampered.join(&b'\n');
        data.push(b'\n');
        std::fs::write(&path, data).unwrap();
        let result = verify(&dir, with_head.then_some(&head));
        match expected {
            None => assert!(result.is_ok(), "{name}: {result:?}"),
            Some((seq, reason)) => {
                let broken = result.expect_err(name);
                assert_eq!(
                    (broken.seq, &broken.reason),
                    (seq, &reason),
                    "{name}: {broken}"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn warnings_are_in_the_chain_and_records_written_before_them_still_verify() {
    // A record sealed before `warnings` existed: it unseals as it is, with none.
    let old = concat!(
        r#"{"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","#,
        r#""time_ms":1,"protocol":"mcp","action":"tool_call","decision":"allow","outcome":"ok","#,
        r#""latency_ms":2,"hash":"e114f72aa8bbbbda45d2c6bb78fbb84a286470721f922ef7f302fda083b95e31"}"#
    );
    let record = chain::unseal(old.as_bytes()).unwrap();
    assert!(record.warnings.is_empty());
    // Sealed again without warnings, it is the same bytes: the field is left out when empty.
    let mut head = ChainHead::start();
    let line = seal(record, &mut head);
    assert_eq!(&line[..line.len() - 1], old.as_bytes());
    // With warnings, the hash covers them: editing one breaks the record.
    let record = AuditRecord {
        warnings: vec!["run.loop.tool".into()],
        ..AuditRecord::default()
    };
    let line = seal(record, &mut head);
    let line = std::str::from_utf8(&line[..line.len() - 1]).unwrap();
    assert!(line.contains(r#""warnings":["run.loop.tool"]"#), "{line}");
    assert_eq!(
        chain::unseal(line.as_bytes()).unwrap().warnings,
        ["run.loop.tool"]
    );
    let edited = line.replace("run.loop.tool", "run.loop.toox");
    assert_eq!(
        chain::unseal(edited.as_bytes()).unwrap_err(),
        chain::BadLine::Modified
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_sqlite_sink_answers_a_run_spanning_mcp_a2a_and_llm_in_order() {
    let path = std::env::temp_dir().join(format!("agw-audit-run-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log = AuditLog::start(SqliteSink::open(&path).unwrap(), AuditOptions::new()).unwrap();
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()))
        .check(|req: &dyn AgentRequest| match req.target() {
            Some("forbidden") => Err(Denied::forbidden("no")),
            _ => Ok(()),
        })
        .service(ok_upstream());
    let steps = [
        ("mcp", Action::ToolCall, "search"),
        ("llm", Action::ModelCall, "gpt"),
        ("a2a", Action::AgentMessage, "travel"),
        ("mcp", Action::ToolCall, "forbidden"),
        ("llm", Action::ModelCall, "claude"),
    ];
    let before = record::now_ms();
    for (i, (protocol, action, target)) in steps.into_iter().enumerate() {
        // Another run's call between each of this run's.
        for (run, who) in [("run-7", "ann"), ("run-8", "bob")] {
            let call = Call::new(action, json!({"step": i}))
                .with_protocol(protocol)
                .with_target(target)
                .with_caller(Caller::new(who))
                .with_run_id(RunId::new(run).unwrap());
            let _ = stack.clone().oneshot(call).await;
        }
    }
    log.flush().await.unwrap();
    let db = SqliteSink::open_reader(&path).unwrap();
    let run = db.run("run-7").unwrap();
    let seen: Vec<_> = run
        .iter()
        .map(|r| (r.protocol.as_str(), r.target.as_deref().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("mcp", "search"),
            ("llm", "gpt"),
            ("a2a", "travel"),
            ("mcp", "forbidden"),
            ("llm", "claude")
        ]
    );
    assert!(run.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(run[3].decision, "deny");
    // By caller and time range.
    let ann = Caller::new("ann").principal_id().to_owned();
    let now = record::now_ms() + 1;
    assert_eq!(db.by_caller(&ann, before, now).unwrap().len(), 5);
    assert!(db.by_caller(&ann, now, now + 1000).unwrap().is_empty());
    assert_eq!(db.verify(None).unwrap().records, 10);
    // The chain continues after a restart, and a modified row is found.
    drop(db);
    log.close().await.unwrap();
    let reopened = SqliteSink::open(&path).unwrap();
    assert_eq!(reopened.head().next_seq, 10);
    reopened
        .conn_for_tests()
        .execute(
            "UPDATE audit SET line = replace(line, 'gpt', 'gpx') WHERE seq = 2",
            [],
        )
        .unwrap();
    let broken = reopened.verify(None).unwrap_err();
    assert_eq!((broken.seq, broken.reason), (2, Reason::Modified));
    drop(reopened);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("db.lock"));
}
