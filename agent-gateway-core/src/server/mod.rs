//! Serving with limits: what a gateway facing the internet needs from its HTTP server, and
//! what `axum::serve` does not set.
//!
//! ```
//! use agent_gateway_core::server::PeerAddr;
//!
//! let peer = PeerAddr("192.0.2.7:51000".parse().unwrap());
//! assert_eq!(peer.ip().to_string(), "192.0.2.7");
//! assert_ne!(peer.ip().to_string(), "192.0.2.8");
//! ```

mod peer;

pub use self::peer::PeerAddr;
