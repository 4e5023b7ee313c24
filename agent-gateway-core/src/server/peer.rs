use std::net::{IpAddr, SocketAddr};

/// The address of the client at the other end of the connection, in the request extensions.
///
/// [`serve`](super::serve) inserts it into every request. Layers that limit per client (the
/// unauthenticated rate limit of the policy crate's pre-auth layer) read it. An embedder
/// serving with its own accept loop inserts it the same way; behind a reverse proxy, insert
/// the client address the proxy vouches for instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

impl PeerAddr {
    /// The client's IP address.
    pub fn ip(&self) -> IpAddr {
        self.0.ip()
    }
}
