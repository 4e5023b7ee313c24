//! Skipping a test whose real peer is missing: such a test starts with
//! `let Some(_) = peers::python() else { return };`, before doing any work. Without
//! `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on stderr; with it (`.ci/test`
//! sets it) the test fails, saying how to install the peer.

use std::path::PathBuf;

/// The python of the pinned peers (`AGW_PEERS_DIR`, or the workspace's `.ci/cache`), or `None`.
pub(crate) fn python() -> Option<PathBuf> {
    let dir = std::env::var_os("AGW_PEERS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/cache"),
        PathBuf::from,
    );
    let python = dir.join("venv/bin/python");
    if python.is_file() {
        return Some(python);
    }
    assert!(
        std::env::var_os("AGW_REQUIRE_PEERS").is_none_or(|v| v != "1"),
        "the python MCP SDK venv is missing at {}: run .ci/peers (it installs mcp==2.3.0 into \
         .ci/cache/venv) or point AGW_PEERS_DIR at a cache that has it",
        python.display()
    );
    eprintln!(
        "skipped: the python MCP SDK venv not installed at {} (run .ci/peers; \
         AGW_REQUIRE_PEERS=1 makes this a failure)",
        python.display()
    );
    None
}
