//! Finding the real protocol peers that `.ci/peers` installs (SDK clients and servers,
//! conformance suites, `redis-server`), and skipping a test whose peer is missing.
//!
//! A real-peer test starts with `let Some(python) = peers::find(..) else { return };` before
//! doing any work. Without `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on
//! stderr and the test returns; with it (`.ci/test` sets it) the test fails with the install
//! hint, so CI can never skip silently.
//!
//! ```
//! use agent_gateway_core::testkit::peers;
//!
//! // The cache directory: `AGW_PEERS_DIR`, or the workspace's `.ci/cache`.
//! let dir = peers::dir();
//! assert!(dir.ends_with(".ci/cache") || std::env::var_os("AGW_PEERS_DIR").is_some());
//! // A path that exists is found.
//! let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
//! assert_eq!(peers::find(here.clone(), "the crate", "none needed"), Some(here));
//! // A missing one is `None`, or a failure when peers are required.
//! if !peers::required() {
//!     assert_eq!(peers::find("/nonexistent/peer".into(), "a peer", "run .ci/peers"), None);
//! }
//! ```

use std::path::PathBuf;

/// Where `.ci/peers` installed the pinned peers: `AGW_PEERS_DIR`, or the workspace's
/// `.ci/cache`.
pub fn dir() -> PathBuf {
    std::env::var_os("AGW_PEERS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/cache"),
        PathBuf::from,
    )
}

/// Whether a missing peer fails the test (`AGW_REQUIRE_PEERS=1`, which `.ci/test` sets) rather
/// than skipping it.
pub fn required() -> bool {
    std::env::var_os("AGW_REQUIRE_PEERS").is_some_and(|v| v == "1")
}

/// `path` when it exists; otherwise [`missing`] and `None`.
pub fn find(path: PathBuf, what: &str, hint: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    missing(&format!("{what} at {}", path.display()), hint);
    None
}

/// Reports a missing peer: with `AGW_REQUIRE_PEERS=1` a panic naming `what` and `hint`,
/// otherwise one `skipped:` line on stderr.
///
/// # Panics
///
/// When peers are [`required`].
pub fn missing(what: &str, hint: &str) {
    assert!(!required(), "{what} is missing: {hint}");
    // One notice per skipped test is the point: the test harness shows stderr of a test.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "skipped: {what} not installed (run .ci/peers; AGW_REQUIRE_PEERS=1 makes this a failure)"
        );
    }
}
