//! The two MCP protocol eras and the protocol versions the gateway speaks in each.
//!
//! ```
//! use agent_gateway_mcp::era::{Era, LEGACY_VERSIONS, MODERN_VERSION};
//!
//! assert_eq!(Era::of_version(MODERN_VERSION), Some(Era::Modern));
//! assert_eq!(Era::of_version("2025-11-25"), Some(Era::Legacy));
//! assert!(LEGACY_VERSIONS.contains(&"2025-06-18"));
//! assert_eq!(Era::of_version("1900-01-01"), None);
//! ```

/// The modern protocol version: stateless, `_meta` on every request.
pub const MODERN_VERSION: &str = "2026-07-28";

/// The legacy versions served with `initialize` and sessions, newest first.
pub const LEGACY_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// The `_meta` key carrying the protocol version of a modern request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// The `_meta` key carrying the client capabilities of a modern request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The `_meta` key carrying the client info of a modern request.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// The `_meta` key carrying the server info in a modern result.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The modern `_meta` key opting a request in to log messages at this level and above.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Which family of MCP revisions a peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Era {
    /// 2026-07-28 and later: stateless, per-request `_meta`.
    Modern,
    /// 2025-11-25 and earlier: `initialize`, sessions.
    Legacy,
}

impl Era {
    /// The era of a protocol version this gateway supports, or `None` if it supports none.
    pub fn of_version(version: &str) -> Option<Era> {
        if version == MODERN_VERSION {
            Some(Era::Modern)
        } else if LEGACY_VERSIONS.contains(&version) {
            Some(Era::Legacy)
        } else {
            None
        }
    }
}
