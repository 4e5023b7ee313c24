//! Serving with limits: what a gateway facing untrusted clients needs from its HTTP server,
//! and what `axum::serve` does not set. The crates own no server; this is the one way to serve
//! them (or any tower service) that the gateway binary uses too.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_core::server::{PeerAddr, ServerLimits};
//!
//! // The client address every served request carries.
//! let peer = PeerAddr("192.0.2.7:51000".parse().unwrap());
//! assert_eq!(peer.ip().to_string(), "192.0.2.7");
//! assert_ne!(peer.ip().to_string(), "192.0.2.8");
//! // Limits with defaults for untrusted clients; tighten or loosen each.
//! let limits = ServerLimits::new().with_body_read_timeout(Duration::from_secs(5));
//! assert_eq!(limits.body_read_timeout(), Duration::from_secs(5));
//! ```
//!
//! # The traps this avoids
//!
//! Embedders who serve the fronts with `axum::serve` or a bare hyper builder meet these:
//! - **No header timeout.** Hyper's 30 s `header_read_timeout` only works with a timer, and
//!   `axum::serve` sets none: a client that sends its headers one byte at a time holds a
//!   connection forever. [`serve`] (feature `server`) sets a Tokio timer and
//!   [`ServerLimits::header_read_timeout`], which also closes idle kept-alive connections.
//! - **No body timeout.** A client that announces `Content-Length: 100` and sends one byte
//!   holds the request forever. Every body is a [`TimedBody`] that must arrive whole within
//!   [`ServerLimits::body_read_timeout`].
//! - **No connection cap.** [`ServerLimits::max_connections`]; a connection over the cap gets
//!   a 503 and is closed.
//! - **Nagle's algorithm.** Small SSE frames on a kept-alive connection wait for the client's
//!   delayed ACK (about 40 ms each) unless the socket sets `TCP_NODELAY`, which [`serve`]
//!   does on every accepted socket. Set it yourself if you accept sockets elsewhere.
//!
//! - **HTTP/2 without bounds.** [`serve`] also speaks HTTP/2 with prior knowledge (`h2c`, as
//!   sidecars and load balancers send it), with the same timeouts: the connection preface
//!   must arrive within the header timeout, at most
//!   [`ServerLimits::max_concurrent_streams`] requests run at once per connection, a request
//!   head is at most [`DEFAULT_MAX_HEADER_LIST_SIZE`] bytes, and a connection with no request
//!   in flight for the header timeout is closed (`GOAWAY`), as an idle HTTP/1.1 connection is.
//!   Many streams share one connection, so ten thousand open SSE streams need a hundred
//!   sockets rather than ten thousand.
//!
//! What a caller may hold once admitted (concurrent streams, a stream's lifetime) is the
//! policy crate's stream limit, since it counts per caller.

mod body;
#[cfg(feature = "server")]
mod h2;
mod limits;
mod peer;
#[cfg(feature = "server")]
mod serve;

pub use self::body::{BodyTimeout, TimedBody};
pub use self::limits::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_LIST_SIZE, ServerLimits,
};
pub use self::peer::PeerAddr;
#[cfg(feature = "server")]
pub use self::serve::serve;
