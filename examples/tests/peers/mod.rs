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
