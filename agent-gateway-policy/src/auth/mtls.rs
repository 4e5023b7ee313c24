use std::collections::HashMap;

use agent_gateway_core::Caller;
use agent_gateway_core::caller::AuthMethod;
use async_trait::async_trait;
use serde_json::Value;

use super::authenticator::{AuthError, Authenticator, Credentials};
use super::principal::Principal;

/// The caller claim holding the peer certificate's subject.
pub const CLAIM_PEER_SUBJECT: &str = "peer_subject";
/// The caller claim holding the peer certificate's subject alternative names.
pub const CLAIM_PEER_SANS: &str = "peer_sans";

/// The identity in a client certificate that the TLS stack has already verified.
///
/// The gateway owns no server, so it never sees a TLS handshake: the embedding server checks
/// the client certificate chain, then inserts this value into the request extensions. Its
/// presence is the statement "this peer proved possession of a trusted certificate"; never
/// build it from anything a client sends, such as a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    subject: String,
    sans: Vec<String>,
    issuer: Option<String>,
}

impl PeerIdentity {
    /// A peer with the certificate's subject distinguished name, e.g. `"CN=billing,O=acme"`.
    pub fn new(subject: impl Into<String>) -> Self {
        PeerIdentity {
            subject: subject.into(),
            sans: Vec::new(),
            issuer: None,
        }
    }

    /// Names the trust anchor that verified the chain (the issuing CA's distinguished name, or
    /// a trust-domain name). It becomes the caller's [`issuer`](Caller::issuer), so the same
    /// SAN under two certificate authorities is two callers.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The trust anchor that verified the chain, if the server named one.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Adds a subject alternative name: a DNS name, URI (such as a SPIFFE id) or email.
    pub fn with_san(mut self, san: impl Into<String>) -> Self {
        self.sans.push(san.into());
        self
    }

    /// The subject distinguished name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The subject alternative names, in certificate order.
    pub fn sans(&self) -> &[String] {
        &self.sans
    }
}

/// Authenticates the verified mTLS peer found as a [`PeerIdentity`] in the request
/// extensions.
///
/// A peer listed with [`with_peer`](Mtls::with_peer) (matched on any SAN, then the subject)
/// becomes its [`Principal`]. Any other peer becomes a caller named by its first SAN, or by
/// its subject when it has none, unless [`known_peers_only`](Mtls::known_peers_only) is set.
/// Either way the caller has [`AuthMethod::Mtls`] and the claims [`CLAIM_PEER_SUBJECT`] and
/// [`CLAIM_PEER_SANS`].
#[derive(Debug, Clone, Default)]
pub struct Mtls {
    peers: HashMap<String, Principal>,
    known_only: bool,
}

impl Mtls {
    /// Accepts every verified peer.
    pub fn new() -> Self {
        Mtls::default()
    }

    /// Maps the peer whose SAN or subject is `name` to `principal`.
    pub fn with_peer(mut self, name: impl Into<String>, principal: Principal) -> Self {
        self.peers.insert(name.into(), principal);
        self
    }

    /// Rejects verified peers that are not listed with [`with_peer`](Mtls::with_peer): a
    /// certificate authority shared with other services then admits only the named ones.
    pub fn known_peers_only(mut self) -> Self {
        self.known_only = true;
        self
    }
}

#[async_trait]
impl Authenticator for Mtls {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        let Some(peer) = credentials.extensions().get::<PeerIdentity>() else {
            return Ok(None);
        };
        let known = peer
            .sans
            .iter()
            .chain(std::iter::once(&peer.subject))
            .find_map(|name| self.peers.get(name));
        let caller = match known {
            Some(principal) => principal.to_caller(AuthMethod::Mtls),
            None if self.known_only => return Err(AuthError::invalid("mTLS peer not listed")),
            None => {
                let name = peer.sans.first().unwrap_or(&peer.subject);
                if name.is_empty() {
                    return Err(AuthError::invalid("mTLS peer without a name"));
                }
                Caller::new(name.clone()).with_method(AuthMethod::Mtls)
            }
        };
        let caller = match &peer.issuer {
            Some(issuer) => caller.with_issuer(issuer.clone()),
            None => caller,
        };
        Ok(Some(
            caller
                .with_claim(CLAIM_PEER_SUBJECT, Value::from(peer.subject.clone()))
                .with_claim(CLAIM_PEER_SANS, Value::from(peer.sans.clone())),
        ))
    }
}
