use std::num::NonZeroUsize;
use std::time::Duration;

/// How long a client may take to send a request head, and how long an idle kept-alive
/// connection stays open waiting for the next one: 10 s. Hyper's own default (30 s) is
/// inactive without a timer, which is how `axum::serve` runs it.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request body may take to arrive whole: 30 s, enough for the default 4 MiB body
/// limit at about 1 Mbit/s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once: 4096. Beyond, a new connection gets a 503 and is closed, so a
/// flood of idle connections cannot exhaust file descriptors or memory.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The limits [`serve`](super::serve) applies; every one has a default that suits a gateway
/// facing untrusted clients.
///
/// ```
/// use std::time::Duration;
/// use agent_gateway_core::server::{DEFAULT_MAX_CONNECTIONS, ServerLimits};
///
/// let limits = ServerLimits::new().with_header_read_timeout(Duration::from_secs(5));
/// assert_eq!(limits.header_read_timeout(), Duration::from_secs(5));
/// assert_eq!(limits.max_connections(), DEFAULT_MAX_CONNECTIONS);
/// ```
#[derive(Debug, Clone)]
pub struct ServerLimits {
    pub(super) header_read_timeout: Duration,
    pub(super) body_read_timeout: Duration,
    pub(super) max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits::new()
    }
}

impl ServerLimits {
    /// The defaults: [`DEFAULT_HEADER_READ_TIMEOUT`], [`DEFAULT_BODY_READ_TIMEOUT`],
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub fn new() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// Sets how long a request head may take; also the keep-alive idle timeout (hyper starts
    /// the same timer while it waits for the next request on a kept-alive connection).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets how long a request body may take to arrive whole.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets how many connections are served at once.
    pub fn with_max_connections(mut self, max: NonZeroUsize) -> Self {
        self.max_connections = max.get();
        self
    }

    /// How long a request head may take (and an idle kept-alive connection may wait).
    pub fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// How long a request body may take.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }

    /// How many connections are served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
}
