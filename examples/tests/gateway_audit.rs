//! The `gateway` binary's audit log: every answered call recorded across a SIGKILL, one writer
//! per log, and the SQLite sink chosen from the config and queried from the command line.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod gateway;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use gateway::{scratch, start_in};

/// The JSONL segments of the log in `dir`, in chain order (the directory also holds the
/// writer's lock file).
fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    out.sort();
    out
}

/// `gateway audit ARGS... PATH`: its exit code and standard output.
fn audit_cli(args: &[&str], path: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("audit")
        .args(args)
        .arg(path)
        .output()
        .expect("run the audit command");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout)
}

/// One `GET /v1/whoami` with `traceparent` naming `id`; true when its whole 200 response came
/// back. Any failure (the gateway was killed) is false.
fn whoami_traced(addr: SocketAddr, id: u64) -> bool {
    let exchange = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET /v1/whoami HTTP/1.1\r\nHost: {addr}\r\ntraceparent: 00-{id:032x}-00f067aa0ba902b7-01\r\nConnection: close\r\n\r\n"
        )?;
        let mut raw = String::new();
        s.read_to_string(&mut raw)?;
        // The whole body: the caller JSON ends the response.
        Ok(raw.starts_with("HTTP/1.1 200") && raw.trim_end().ends_with('}'))
    };
    exchange().unwrap_or(false)
}

#[test]
fn killed_under_load_with_fsync_always_every_answered_call_has_its_record() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    const BEFORE_KILL: usize = 300;
    let dir = scratch("audit-kill");
    let config = dir.join("gw.toml");
    std::fs::write(
        &config,
        "[server]\nunauthenticated_per_minute = 0\n[auth]\nrequired = false\n\
         [audit]\npath = \"audit\"\nfsync = \"always\"\n",
    )
    .unwrap();
    let mut gw = start_in(&dir, &["--config", config.to_str().unwrap()]);
    let addr = gw.addr;
    // Each answered call's id comes back on this channel.
    let (answered_tx, answered_rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(1));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (answered, stop, next) = (answered_tx.clone(), stop.clone(), next.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    if whoami_traced(addr, id) {
                        let _ = answered.send(id);
                    }
                }
            })
        })
        .collect();
    drop(answered_tx);
    // Kill it mid-run, once it has answered a good number of calls (bounded wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut answered = Vec::new();
    while answered.len() < BEFORE_KILL {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match answered_rx.recv_timeout(left) {
            Ok(id) => answered.push(id),
            Err(_) => break,
        }
    }
    gw.child.kill().expect("SIGKILL");
    gw.child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    // Every sender is gone: this takes the answers that came in while it was being killed.
    answered.extend(answered_rx.try_iter());
    assert!(
        answered.len() >= BEFORE_KILL,
        "only {} answered",
        answered.len()
    );

    // The log verifies up to its last complete record (a torn line is reported, not fatal)...
    let log = dir.join("audit");
    let (code, stdout) = audit_cli(&["verify"], &log);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    // ... and holds a record of every call whose response a client received.
    let mut recorded = std::collections::HashSet::new();
    for segment in segments(&log) {
        let text = std::fs::read_to_string(segment).unwrap();
        for line in text.lines().filter(|l| l.ends_with('}')) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(trace) = v["trace_id"].as_str() {
                recorded.insert(u64::from_str_radix(trace, 16).unwrap());
            }
        }
    }
    let missing: Vec<_> = answered
        .iter()
        .filter(|id| !recorded.contains(id))
        .collect();
    assert!(missing.is_empty(), "answered without a record: {missing:?}");

    // Tampering with one record makes the subcommand exit 1, naming it.
    let segment = segments(&log).remove(0);
    let text = std::fs::read_to_string(&segment).unwrap();
    std::fs::write(&segment, text.replacen("\"seq\":3,", "\"seq\":3, ", 1)).unwrap();
    let (code, stdout) = audit_cli(&["verify"], &log);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("record 3 "), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_clean_shutdown_closes_the_log_with_its_last_record_and_releases_it() {
    const CALLS: u64 = 20;
    let dir = scratch("audit-close");
    let config = dir.join("gw.toml");
    // `never`: nothing but the shutdown's close makes the last records durable.
    std::fs::write(
        &config,
        "[auth]\nrequired = false\n[audit]\npath = \"audit\"\nfsync = \"never\"\n",
    )
    .unwrap();
    let mut gw = start_in(&dir, &["--config", config.to_str().unwrap()]);
    for id in 1..=CALLS {
        assert!(whoami_traced(gw.addr, id));
    }
    let status = gw.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let log = dir.join("audit");
    let (code, stdout) = audit_cli(&["verify"], &log);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.starts_with(&format!("ok: {CALLS} records")),
        "{stdout}"
    );
    // The last call's record is the last line written.
    let last = segments(&log).pop().unwrap();
    let text = std::fs::read_to_string(last).unwrap();
    let record: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        record["trace_id"],
        format!("{CALLS:032x}").as_str(),
        "{record}"
    );
    // Released: the next gateway opens the same log and continues its chain.
    let next = start_in(&dir, &["--config", config.to_str().unwrap()]);
    assert!(whoami_traced(next.addr, CALLS + 1));
    drop(next);
    let (code, stdout) = audit_cli(&["verify"], &log);
    assert_eq!(code, Some(0), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The gateway's exit within a bound: `(code, stderr)`, or a panic if it keeps running.
fn exits(mut cmd: Command) -> (Option<i32>, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the gateway exits within 60 s")
        .expect("run the gateway");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_second_gateway_on_the_same_audit_log_fails_to_start_with_a_clear_error() {
    let dir = scratch("audit-lock");
    let config = dir.join("gw.toml");
    std::fs::write(
        &config,
        "[auth]\nrequired = false\n[audit]\npath = \"audit\"\nfsync = \"always\"\n",
    )
    .unwrap();
    let first = start_in(&dir, &["--config", config.to_str().unwrap()]);
    let mut second = Command::new(env!("CARGO_BIN_EXE_gateway"));
    second
        .args([
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ])
        .current_dir(&dir);
    let (code, stderr) = exits(second);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("another gateway is writing this log"),
        "{stderr}"
    );
    // The first one is unaffected, and its chain is one chain.
    assert!(whoami_traced(first.addr, 1));
    drop(first);
    let (_, stdout) = audit_cli(&["verify"], &dir.join("audit"));
    assert!(stdout.starts_with("ok: 1 records"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo key's principal id (`method:issuer:tenant:subject`) as records carry it.
#[cfg(feature = "sqlite")]
const DEMO_PRINCIPAL: &str = "api_key::local:demo";

#[cfg(feature = "sqlite")]
#[test]
fn a_db_path_is_the_sqlite_sink_and_the_cli_verifies_and_queries_it() {
    let dir = scratch("audit-sqlite");
    let config = dir.join("gw.toml");
    std::fs::write(
        &config,
        r#"
[auth]
[[auth.api_keys]]
key_sha256 = "e9ea7221f3e65906b26bb5b2c23ca15eca18b524bab79e00aedc38bcb1e4b293"
subject = "demo"
tenant = "local"

[authorize]
[[authorize.rules]]
id = "anyone"
effect = "allow"
condition = "true"

[audit]
path = "audit.db"
fsync = "always"
"#,
    )
    .unwrap();
    let gw = start_in(&dir, &["--config", config.to_str().unwrap()]);
    let whoami = |key: &str| {
        let mut s = TcpStream::connect(gw.addr).unwrap();
        write!(
            s,
            "GET /v1/whoami HTTP/1.1\r\nHost: {}\r\n{key}Connection: close\r\n\r\n",
            gw.addr
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        raw[9..12].to_owned()
    };
    let before = now_ms();
    assert_eq!(whoami("x-api-key: agw-demo-key\r\n"), "200");
    // Refused by the edge's authentication, before the policy stack: recorded by the edge,
    // with no caller.
    assert_eq!(whoami(""), "401");
    assert_eq!(whoami("Authorization: Bearer agw-demo-key\r\n"), "200");
    let after = now_ms() + 1;
    // A second gateway on the same database is refused as well.
    let mut second = Command::new(env!("CARGO_BIN_EXE_gateway"));
    second
        .args([
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ])
        .current_dir(&dir);
    let (code, stderr) = exits(second);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("audit.db.lock"), "{stderr}");
    drop(gw);

    let db = dir.join("audit.db");
    let cli = |args: &[&str]| audit_cli(args, &db);
    let (code, stdout) = cli(&["verify"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("ok: 3 records"), "{stdout}");
    let (from, to) = (before.to_string(), after.to_string());
    let (code, stdout) = cli(&[
        "query",
        "--caller",
        DEMO_PRINCIPAL,
        "--from",
        &from,
        "--to",
        &to,
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<_> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    // The edge's 401 (seq 1) has no caller.
    assert_eq!(seqs, [0, 2], "{stdout}");
    assert!(records.iter().all(|r| r["decision"] == "allow"));
    // Outside the time range, nothing.
    let (code, stdout) = cli(&["query", "--caller", DEMO_PRINCIPAL, "--from", &to]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
