//! Shared helpers for the cross-crate tests in `tests/tests/`.
//!
//! Real peers (SDK clients, conformance suites, servers) are installed by `.ci/peers` into the
//! directory named by `AGW_PEERS_DIR`; [`peers_dir`] finds it.
//!
//! ```
//! let dir = agent_gateway_tests::peers_dir();
//! assert!(dir.ends_with(".ci/cache") || std::env::var_os("AGW_PEERS_DIR").is_some());
//! ```

use std::path::PathBuf;

/// Where `.ci/peers` installed the pinned real peers.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("AGW_PEERS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/cache"),
    }
}
