use std::num::{NonZeroU32, NonZeroUsize};
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

/// Requests in flight at once on one HTTP/2 connection: 128. A client that wants more opens
/// another connection (which counts against [`DEFAULT_MAX_CONNECTIONS`]).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 128;

/// The largest request head an HTTP/2 client may send, in bytes (decoded header names and
/// values plus 32 bytes each, RFC 9113 §6.5.2): 64 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

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
    pub(super) http2: bool,
    pub(super) max_concurrent_streams: u32,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits::new()
    }
}

impl ServerLimits {
    /// The defaults: [`DEFAULT_HEADER_READ_TIMEOUT`], [`DEFAULT_BODY_READ_TIMEOUT`],
    /// [`DEFAULT_MAX_CONNECTIONS`], HTTP/2 with prior knowledge accepted, at most
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`] per HTTP/2 connection.
    pub fn new() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            http2: true,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
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

    /// Whether a client may speak HTTP/2 with prior knowledge (`h2c`: the connection opens with
    /// the HTTP/2 preface) besides HTTP/1.1. On by default; off, such a connection is served as
    /// HTTP/1.1 and fails at its first bytes.
    pub fn with_http2(mut self, http2: bool) -> Self {
        self.http2 = http2;
        self
    }

    /// Sets how many requests one HTTP/2 connection may have in flight at once (its
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub fn with_max_concurrent_streams(mut self, max: NonZeroU32) -> Self {
        self.max_concurrent_streams = max.get();
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

    /// Whether HTTP/2 with prior knowledge is accepted.
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// How many requests one HTTP/2 connection may have in flight at once.
    pub fn max_concurrent_streams(&self) -> u32 {
        self.max_concurrent_streams
    }
}
