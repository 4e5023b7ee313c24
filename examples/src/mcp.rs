//! The MCP front from the configuration: upstream servers federated behind one endpoint, the
//! policy stack in between.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//! use agent_gateway_examples::mcp::federation;
//!
//! let config = Config::embedded_default().unwrap();
//! assert!(federation(config.mcp.as_ref().unwrap()).is_ok());
//!
//! let bad = Config::from_toml_str("[mcp]\n[[mcp.upstreams]]\nname = \"a__b\"\ndemo = true\n").unwrap();
//! assert!(federation(bad.mcp.as_ref().unwrap()).is_err()); // ambiguous with the `__` separator
//! ```

use agent_gateway_core::{Secret, SystemClock};
use agent_gateway_mcp::FrontConfig;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::federation::{Federation, Member, ToolView};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::session::{Sealer, SessionKey};
use agent_gateway_mcp::testkit::FakeMcpServer;
use http::HeaderValue;

use crate::config::{McpConfig, McpTarget};

/// MCP configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpSetupError {
    /// An upstream is misconfigured.
    #[error("mcp.upstreams `{name}`: {reason}")]
    Upstream {
        /// The upstream's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The front is misconfigured.
    #[error("mcp: {0}")]
    Front(String),
}

/// Builds the federation of the configured upstreams.
pub fn federation(config: &McpConfig) -> Result<Federation, McpSetupError> {
    let mut builder = Federation::builder();
    for u in &config.upstreams {
        let err = |reason: String| McpSetupError::Upstream {
            name: u.name.clone(),
            reason,
        };
        let name = ServerName::new(&u.name).map_err(|e| err(e.to_string()))?;
        let member = match &u.target {
            McpTarget::Demo => Member::new(
                name,
                FakeMcpServer::new()
                    .with_echo_tool("echo")
                    .with_prompt("greeting"),
            ),
            McpTarget::Url(uri) => {
                let mut upstream = HttpUpstream::connect(uri.clone());
                if let Some(var) = &u.token_env {
                    let token = std::env::var(var)
                        .map_err(|_| err(format!("environment variable `{var}` is not set")))?;
                    let value = HeaderValue::try_from(format!("Bearer {token}"))
                        .map_err(|_| err(format!("`{var}` is not a valid token")))?;
                    upstream = upstream.with_authorization(Secret::new(value));
                }
                Member::new(name, upstream)
            }
        };
        let mut view = if u.include_tools.is_empty() {
            ToolView::all()
        } else {
            ToolView::include(u.include_tools.iter().cloned())
        };
        if !u.exclude_tools.is_empty() {
            view = view.exclude(u.exclude_tools.iter().cloned());
        }
        builder = builder.member(member.with_timeout(u.timeout).with_view(view));
    }
    builder
        .build()
        .map_err(|e| McpSetupError::Front(e.to_string()))
}

/// The front's configuration: server identity, session sealing, allowed origins, body limit.
pub fn front_config(config: &McpConfig, body_limit: usize) -> Result<FrontConfig, McpSetupError> {
    let front_err = |reason: String| McpSetupError::Front(reason);
    let mut front = FrontConfig::new("agent-gateway", env!("CARGO_PKG_VERSION"))
        .map_err(|e| front_err(e.to_string()))?
        .with_max_body(body_limit);
    let key = match &config.session_key_env {
        Some(var) => {
            let hex = std::env::var(var)
                .map_err(|_| front_err(format!("environment variable `{var}` is not set")))?;
            SessionKey::new(Secret::new(parse_hex_key(&hex).ok_or_else(|| {
                front_err(format!("`{var}` must hold 64 hex digits (32 bytes)"))
            })?))
        }
        None => SessionKey::random().map_err(|e| front_err(e.to_string()))?,
    };
    front = front.with_session_key(Sealer::new(key, config.session_ttl, SystemClock::shared()));
    if !config.allowed_origins.is_empty() {
        let origins = config
            .allowed_origins
            .iter()
            .map(|o| HeaderValue::try_from(o.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| front_err("mcp.allowed_origins: not a valid origin".into()))?;
        front = front.with_allowed_origins(origins);
    }
    Ok(front)
}

/// Reads a 32-byte key written as 64 hex digits.
pub fn parse_hex_key(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_are_64_hex_digits() {
        assert_eq!(parse_hex_key(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hex_key(&"ab".repeat(31)), None);
        assert_eq!(parse_hex_key(&"zz".repeat(32)), None);
    }
}
