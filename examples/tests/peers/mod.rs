//! Skipping a test whose real peer is missing: such a test starts with
//! `let Some(_) = peers::python() else { return };`, before doing any work. Without
//! `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on stderr; with it (`.ci/test`
//! sets it) the test fails, saying how to install the peer.

use std::path::PathBuf;

/// The python of the pinned peers (`AGW_PEERS_DIR`, or the workspace's `.ci/cache`), or `None`.
pub(crate) fn python() -> Option<PathBuf> {
    agent_gateway_core::testkit::peers::find(
        agent_gateway_core::testkit::peers::dir().join("venv/bin/python"),
        "the python MCP SDK venv",
        "run .ci/peers (it installs mcp==2.3.0 into .ci/cache/venv) or point AGW_PEERS_DIR at a \
         cache that has it",
    )
}

/// Starts a python a2a-sdk agent script of `tests/peers/a2a/` (`agent.py`, `run_agent.py`)
/// with `args`, reads the `PORT <n>` line it prints once its socket is bound, and waits until
/// the port accepts connections (uvicorn listens just after the line; nothing signals that
/// from outside, so the port is polled, bounded to a minute). The child is killed on drop.
#[allow(
    dead_code,
    reason = "only the test binaries that start a2a-sdk agents call it"
)]
pub(crate) async fn a2a_agent(
    python: &std::path::Path,
    script: &str,
    args: &[&str],
) -> (tokio::process::Child, u16) {
    use std::time::Duration;
    use tokio::io::AsyncBufReadExt;

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/peers/a2a")
        .join(script);
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let line = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("the agent reports its port within a minute")
    .expect("readable stdout")
    .expect("a line");
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("PORT <n>");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent listens within a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, port)
}
