//! Sealed legacy session ids: the id the client sees carries the session's state, encrypted
//! and authenticated with a configured key, so any replica holding the key can serve it and a
//! forged, tampered or expired id is refused.
//!
//! The seal is ChaCha20-Poly1305 (ring) with a random 96-bit nonce per id. The state is small:
//! the negotiated protocol version, the client's capabilities, the issue and expiry times (wall
//! clock, seconds) and the owner: a digest of the caller who opened the session
//! ([`Caller::owner_digest`](agent_gateway_core::Caller::owner_digest)). Every later request on
//! the session must come from that caller; anyone else is told the session does not exist,
//! exactly as for a forged id (see [`McpRequest::check_session_owner`](crate::McpRequest::check_session_owner)).
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_core::{Secret, SystemClock};
//! use agent_gateway_mcp::session::{SessionKey, Sealer};
//!
//! let sealer = Sealer::new(SessionKey::new(Secret::new([7u8; 32])), Duration::from_secs(3600), SystemClock::shared());
//! let id = sealer.seal("2025-11-25").unwrap();
//! assert_eq!(sealer.open(&id).unwrap().version(), "2025-11-25");
//!
//! // A session opened by a caller is sealed with that caller's digest.
//! let alice = agent_gateway_core::Caller::new("alice").owner_digest();
//! let id = sealer.seal_for("2025-11-25", &serde_json::json!({}), Some(alice)).unwrap();
//! assert_eq!(sealer.open(&id).unwrap().owner(), Some(alice));
//!
//! // One flipped character and the id is refused.
//! let mut forged = id.clone().into_bytes();
//! forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
//! assert!(sealer.open(std::str::from_utf8(&forged).unwrap()).is_err());
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_gateway_core::seal::{SealKey, Sealer as CoreSealer};
use agent_gateway_core::{Secret, SharedClock};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

/// The most bytes of client capabilities sealed in a session id as declared; larger ones are
/// kept by name only (`{"sampling": {}, ...}`), which bounds the id's length.
pub const MAX_SEALED_CAPABILITIES: usize = 256;

fn sealed_capabilities(capabilities: &Value) -> Value {
    let Value::Object(caps) = capabilities else {
        return Value::Object(Map::new());
    };
    let full = serde_json::to_vec(caps).map_or(usize::MAX, |v| v.len());
    if full <= MAX_SEALED_CAPABILITIES {
        return Value::Object(caps.clone());
    }
    Value::Object(
        caps.keys()
            .filter(|k| k.len() <= 32)
            .take(8)
            .map(|k| (k.clone(), json!({})))
            .collect(),
    )
}

/// A 256-bit key sealing session ids. Share it between replicas; rotate it to end every
/// session.
#[derive(Clone)]
pub struct SessionKey(Secret<[u8; 32]>);

impl SessionKey {
    /// A key from 32 secret bytes.
    pub fn new(key: Secret<[u8; 32]>) -> Self {
        SessionKey(key)
    }

    /// A random key: sessions then live only as long as this process and do not move between
    /// replicas.
    pub fn random() -> Result<Self, SessionError> {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| SessionError::Crypto)?;
        Ok(SessionKey(Secret::new(key)))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// Why a session id was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Not an id this gateway sealed: forged, tampered or sealed with another key.
    #[error("session id is not valid")]
    Invalid,
    /// Sealed by this gateway but past its expiry.
    #[error("session has expired")]
    Expired,
    /// The random source or cipher failed.
    #[error("session sealing failed")]
    Crypto,
}

/// The state a session id carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    version: String,
    expires: u64,
    capabilities: Value,
    owner: Option<[u8; 16]>,
}

impl SessionState {
    /// The protocol version negotiated at `initialize`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The capabilities the client declared at `initialize` (an object).
    pub fn capabilities(&self) -> &Value {
        &self.capabilities
    }

    /// The expiry, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.expires
    }

    /// The digest of the caller who opened the session
    /// ([`Caller::owner_digest`](agent_gateway_core::Caller::owner_digest)), or `None` when no
    /// caller was known (no auth layer in the stack): only a request with no caller either may
    /// then use it.
    pub fn owner(&self) -> Option<[u8; 16]> {
        self.owner
    }
}

/// The owner digest as sealed: 32 lowercase hex digits.
fn owner_hex(owner: &[u8; 16]) -> String {
    owner.iter().map(|b| format!("{b:02x}")).collect()
}

/// The owner digest from its sealed form; `Err` when it is not 32 hex digits.
fn owner_from_hex(hex: &str) -> Result<[u8; 16], SessionError> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return Err(SessionError::Invalid);
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| SessionError::Invalid)?;
        *o = u8::from_str_radix(text, 16).map_err(|_| SessionError::Invalid)?;
    }
    Ok(out)
}

/// What a session id is sealed for: a token sealed for another purpose never opens as one.
const SESSION_CONTEXT: &[u8] = b"agent-gateway/mcp/session";

/// Seals and opens session ids, on core's [`Sealer`](agent_gateway_core::seal::Sealer)
/// (ChaCha20-Poly1305, bound to the session context).
pub struct Sealer {
    inner: CoreSealer,
    ttl: Duration,
    clock: SharedClock,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &"[redacted]")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sealer {
    /// A sealer with `key`, giving sessions `ttl` to live, reading wall time from `clock`.
    pub fn new(key: SessionKey, ttl: Duration, clock: SharedClock) -> Self {
        Sealer {
            inner: CoreSealer::new(SealKey::new(key.0)),
            ttl,
            clock,
        }
    }

    /// A new session id for a session that negotiated `version`, with no client capabilities.
    pub fn seal(&self, version: &str) -> Result<String, SessionError> {
        self.seal_with(version, &Value::Object(Map::new()))
    }

    /// A new session id for a session that negotiated `version`, remembering the capabilities
    /// the client declared at `initialize` (so that any replica can tell an upstream what the
    /// client can answer). Capabilities over [`MAX_SEALED_CAPABILITIES`] bytes are kept by
    /// name only.
    pub fn seal_with(&self, version: &str, capabilities: &Value) -> Result<String, SessionError> {
        self.seal_for(version, capabilities, None)
    }

    /// Like [`seal_with`](Self::seal_with), for a session owned by the caller whose
    /// [`owner_digest`](agent_gateway_core::Caller::owner_digest) is `owner` (`None`: no
    /// caller was known).
    pub fn seal_for(
        &self,
        version: &str,
        capabilities: &Value,
        owner: Option<[u8; 16]>,
    ) -> Result<String, SessionError> {
        let now = unix_secs(self.clock.wall());
        let expires = now.saturating_add(self.ttl.as_secs());
        let caps = sealed_capabilities(capabilities);
        let mut state = json!({"v": version, "c": caps, "iat": now, "exp": expires});
        if let Some(owner) = owner {
            state["o"] = Value::String(owner_hex(&owner));
        }
        self.inner
            .seal_json(SESSION_CONTEXT, &state)
            .map_err(|_| SessionError::Crypto)
    }

    /// The wall time now, in seconds since the epoch, on the sealer's clock.
    pub(crate) fn now(&self) -> u64 {
        unix_secs(self.clock.wall())
    }

    /// Opens a session id: its state, or why it is refused.
    pub fn open(&self, id: &str) -> Result<SessionState, SessionError> {
        // Bound the work an attacker can cause with a huge header.
        if id.len() > 1024 {
            return Err(SessionError::Invalid);
        }
        let state: Value = self
            .inner
            .open_json(SESSION_CONTEXT, id)
            .map_err(|_| SessionError::Invalid)?;
        let version = state["v"].as_str().ok_or(SessionError::Invalid)?.to_owned();
        let expires = state["exp"].as_u64().ok_or(SessionError::Invalid)?;
        if unix_secs(self.clock.wall()) >= expires {
            return Err(SessionError::Expired);
        }
        let capabilities = match state.get("c") {
            Some(Value::Object(c)) => Value::Object(c.clone()),
            _ => Value::Object(Map::new()),
        };
        let owner = match state.get("o") {
            None => None,
            Some(o) => Some(owner_from_hex(o.as_str().ok_or(SessionError::Invalid)?)?),
        };
        Ok(SessionState {
            version,
            expires,
            capabilities,
            owner,
        })
    }
}

mod binding;
mod bounded;
mod limits;
pub(crate) mod pending;
pub(crate) mod resume;
mod share;
mod store;
pub(crate) mod subscriptions;

pub(crate) use binding::SessionBinding;
pub use limits::SessionLimits;
pub(crate) use share::{OwnerKey, session_owner};
pub(crate) use store::Cancels;
pub use store::{SessionStore, TableFill};

#[cfg(test)]
mod tests {
    use super::*;
    use agent_gateway_core::ManualClock;
    use std::sync::Arc;

    #[test]
    fn expiry_other_keys_and_garbage() {
        let clock = Arc::new(ManualClock::new());
        let key = SessionKey::new(Secret::new([1u8; 32]));
        let sealer = Sealer::new(key.clone(), Duration::from_secs(60), clock.clone());
        let id = sealer.seal("2025-06-18").unwrap();
        assert_eq!(sealer.open(&id).unwrap().version(), "2025-06-18");
        assert_eq!(sealer.open(&id).unwrap().capabilities(), &json!({}));
        assert_eq!(sealer.open(&id).unwrap().owner(), None);
        let digest = [0xa5u8; 16];
        let owned = sealer
            .seal_for("2025-06-18", &json!({}), Some(digest))
            .unwrap();
        assert_eq!(sealer.open(&owned).unwrap().owner(), Some(digest));
        assert_eq!(owner_from_hex(&owner_hex(&digest)), Ok(digest));
        for bad in ["", "a5", &"g".repeat(32), &"a".repeat(33)] {
            assert_eq!(owner_from_hex(bad), Err(SessionError::Invalid), "{bad}");
        }
        let caps = json!({"sampling": {}, "elicitation": {"form": {}}});
        let id = sealer.seal_with("2025-11-25", &caps).unwrap();
        assert_eq!(sealer.open(&id).unwrap().capabilities(), &caps);
        // Oversized capabilities are kept by name, so the id stays short.
        let big = json!({"sampling": {"x": "y".repeat(4096)}, "roots": {"listChanged": true}});
        let id = sealer.seal_with("2025-11-25", &big).unwrap();
        assert!(id.len() < 512);
        assert_eq!(
            sealer.open(&id).unwrap().capabilities(),
            &json!({"sampling": {}, "roots": {}})
        );
        assert!(id.bytes().all(|b| b.is_ascii_graphic()));

        let other = Sealer::new(
            SessionKey::new(Secret::new([2u8; 32])),
            Duration::from_secs(60),
            clock.clone(),
        );
        assert_eq!(other.open(&id), Err(SessionError::Invalid));
        for junk in ["", "!!!", "AAAA", &"A".repeat(2000)] {
            assert_eq!(sealer.open(junk), Err(SessionError::Invalid), "{junk}");
        }
        clock.advance(Duration::from_secs(61));
        assert_eq!(sealer.open(&id), Err(SessionError::Expired));
        assert_eq!(format!("{key:?}"), "SessionKey([redacted])");
        assert!(format!("{sealer:?}").contains("[redacted]"));
    }
}
