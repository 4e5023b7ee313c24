//! The `[server]` table: where to listen and the limits that keep slow or hostile clients
//! from holding the gateway.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_examples::config::Config;
//!
//! let config = Config::from_toml_str("[server]\nheader_read_timeout_secs = 5\n").unwrap();
//! assert_eq!(config.server.limits.header_read_timeout(), Duration::from_secs(5));
//! assert_eq!(config.server.streams_per_caller.get(), 64);
//! assert!(Config::from_toml_str("[server]\nmax_connections = 0\n").is_err());
//! // HTTP/2 with prior knowledge is on, at most 128 requests at once per connection.
//! assert!(config.server.limits.http2());
//! let tight = Config::from_toml_str("[server]\nmax_concurrent_streams = 16\n").unwrap();
//! assert_eq!(tight.server.limits.max_concurrent_streams(), 16);
//! let off = Config::from_toml_str("[server]\nhttp2 = false\n").unwrap();
//! assert!(!off.server.limits.http2());
//! ```

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use agent_gateway_core::server::ServerLimits;
use agent_gateway_policy::auth::pre::DEFAULT_UNAUTHENTICATED_RATE;
use agent_gateway_policy::streams::{DEFAULT_MAX_STREAM_LIFETIME, DEFAULT_STREAMS_PER_CALLER};
use serde::Deserialize;

use super::ConfigError;

/// The address used when the file names none.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The body limit used when the file names none: 4 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The HTTP server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The largest request body accepted.
    pub body_limit: NonZeroUsize,
    /// Header and body read timeouts, the connection cap, HTTP/2 on or off and its
    /// per-connection stream cap.
    pub limits: ServerLimits,
    /// Responses (streams included) one caller may hold open at once.
    pub streams_per_caller: NonZeroUsize,
    /// How long an event stream may last before the gateway ends it.
    pub max_stream_lifetime: Duration,
    /// Unauthenticated requests per minute per client address; `None`: not limited.
    pub unauthenticated_per_minute: Option<NonZeroU64>,
    /// The `Host` allow-list for every governed route; `None`: the default for the listener
    /// (loopback names on a loopback address, else the MCP front's list, else unchecked).
    pub allowed_hosts: Option<Vec<String>>,
    /// The `Origin` values allowed on every governed route; a request with any other is refused.
    pub allowed_origins: Vec<String>,
}

/// The `[server]` table as serde reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileServer {
    listen: Option<String>,
    body_limit_bytes: Option<usize>,
    header_read_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    http2: Option<bool>,
    max_concurrent_streams: Option<u32>,
    streams_per_caller: Option<usize>,
    max_stream_lifetime_secs: Option<u64>,
    unauthenticated_per_minute: Option<u64>,
    allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    allowed_origins: Vec<String>,
}

fn positive(value: Option<u64>, default: u64, key: &'static str) -> Result<u64, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(ConfigError::Value {
            key,
            reason: "must be at least 1".into(),
        }),
        n => Ok(n),
    }
}

impl TryFrom<FileServer> for ServerConfig {
    type Error = ConfigError;

    fn try_from(file: FileServer) -> Result<ServerConfig, ConfigError> {
        let listen = file.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen.parse().map_err(|e| ConfigError::Value {
            key: "server.listen",
            reason: format!("`{listen}` is not an address like 127.0.0.1:8080 ({e})"),
        })?;
        let at_least_one = |key| ConfigError::Value {
            key,
            reason: "must be at least 1".into(),
        };
        let body_limit = NonZeroUsize::new(file.body_limit_bytes.unwrap_or(DEFAULT_BODY_LIMIT))
            .ok_or_else(|| at_least_one("server.body_limit_bytes"))?;
        let defaults = ServerLimits::new();
        let header = positive(
            file.header_read_timeout_secs,
            defaults.header_read_timeout().as_secs(),
            "server.header_read_timeout_secs",
        )?;
        let body = positive(
            file.body_read_timeout_secs,
            defaults.body_read_timeout().as_secs(),
            "server.body_read_timeout_secs",
        )?;
        let max_connections =
            NonZeroUsize::new(file.max_connections.unwrap_or(defaults.max_connections()))
                .ok_or_else(|| at_least_one("server.max_connections"))?;
        let max_concurrent_streams = NonZeroU32::new(
            file.max_concurrent_streams
                .unwrap_or(defaults.max_concurrent_streams()),
        )
        .ok_or_else(|| at_least_one("server.max_concurrent_streams"))?;
        let limits = defaults
            .with_header_read_timeout(Duration::from_secs(header))
            .with_body_read_timeout(Duration::from_secs(body))
            .with_max_connections(max_connections)
            .with_http2(file.http2.unwrap_or(true))
            .with_max_concurrent_streams(max_concurrent_streams);
        let streams_per_caller = NonZeroUsize::new(
            file.streams_per_caller
                .unwrap_or(DEFAULT_STREAMS_PER_CALLER),
        )
        .ok_or_else(|| at_least_one("server.streams_per_caller"))?;
        let lifetime = positive(
            file.max_stream_lifetime_secs,
            DEFAULT_MAX_STREAM_LIFETIME.as_secs(),
            "server.max_stream_lifetime_secs",
        )?;
        // 0 turns the limit off (behind a proxy every request shares its address).
        let unauthenticated_per_minute = NonZeroU64::new(
            file.unauthenticated_per_minute
                .unwrap_or(DEFAULT_UNAUTHENTICATED_RATE.limit().get()),
        );
        for origin in &file.allowed_origins {
            if http::HeaderValue::try_from(origin.as_str()).is_err() {
                return Err(ConfigError::Value {
                    key: "server.allowed_origins",
                    reason: format!("`{origin}` is not a valid origin"),
                });
            }
        }
        Ok(ServerConfig {
            listen,
            body_limit,
            limits,
            streams_per_caller,
            max_stream_lifetime: Duration::from_secs(lifetime),
            unauthenticated_per_minute,
            allowed_hosts: file.allowed_hosts,
            allowed_origins: file.allowed_origins,
        })
    }
}
