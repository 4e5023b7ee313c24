//! Where the real peers of the a2a tests live, and skipping a test whose peer is missing: a
//! real-peer test starts with `let Some(python) = peers::python() else { return };`, before
//! doing any work. Without `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on
//! stderr; with it (`.ci/test` sets it) the test fails, saying how to install the peer.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

pub use agent_gateway_core::testkit::peers::{dir as peers_dir, find as peer};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The venv's python (a2a-sdk 1.3.0), or `None` (see [`peer`]).
pub fn python() -> Option<PathBuf> {
    peer(
        peers_dir().join("venv/bin/python"),
        "the a2a-sdk python venv",
        "the a2a-sdk peers need it (run .ci/peers, or set AGW_PEERS_DIR)",
    )
}

/// The `@a2a-js/sdk` directory, or `None` (see [`peer`]).
pub fn a2a_js() -> Option<PathBuf> {
    let js = peers_dir().join("a2a-js");
    peer(
        js.join("node_modules/@a2a-js/sdk/package.json"),
        "the @a2a-js/sdk client",
        "run .ci/peers, or set AGW_PEERS_DIR",
    )?;
    Some(js)
}

/// `node` on PATH, or `None` (see [`peer`]).
pub fn node() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("node"))
            .find(|p| p.is_file())
    });
    peer(
        found.unwrap_or_else(|| PathBuf::from("node")),
        "node (on PATH)",
        "install Node >= 20 and put it on PATH",
    )
}

/// A peer script of `tests/peers/a2a`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/peers/a2a")
        .join(name)
}

/// Starts `agent.py` with `args` on the venv's python and returns it with the port it
/// listens on. The test checked [`python`] first.
pub async fn sdk_agent(args: &[&str]) -> (Child, u16) {
    let python = python().expect("the test checked for its peer first");
    let mut child = Command::new(python)
        .arg(script("agent.py"))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the agent reports its port within a minute")
        .expect("readable stdout")
        .expect("a line");
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("PORT <n>");
    (child, port)
}

/// Runs the python peer `script` with `args` (and `stdin`), and returns its JSON lines; fails
/// the test if it fails.
pub async fn run_python(name: &str, args: &[&str], stdin: Option<&str>) -> Vec<Value> {
    use tokio::io::AsyncWriteExt;

    let python = python().expect("the test checked for its peer first");
    let mut child = Command::new(python)
        .arg(script(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the script starts");
    let mut input = child.stdin.take().expect("piped stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .await
        .expect("stdin written");
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the script finishes within a minute")
        .expect("it runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}
