//! Where the real peers of the a2a tests live, and skipping a test whose peer is missing: a
//! real-peer test starts with `let Some(python) = peers::python() else { return };`, before
//! doing any work. Without `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on
//! stderr; with it (`.ci/test` sets it) the test fails, saying how to install the peer.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::path::PathBuf;

pub use agent_gateway_core::testkit::peers::{dir as peers_dir, find as peer};

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
