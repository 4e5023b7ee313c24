//! The signed remainder header: what is left of a run's budget, carried to the next hop.
//!
//! A token is `v1.<key id>.<payload>.<mac>`: the payload is base64url JSON (run id, depth,
//! expiry, the hop path, the remainder, a random hop id) and the MAC is HMAC-SHA256 under the
//! key named by the key id, over `v1.<key id>.<payload>`. Changing any byte of the remainder,
//! the run id, the depth, the expiry or the key id breaks the MAC; verification is constant
//! time (ring's `hmac::verify`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_gateway_core::{RunId, Secret};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::limits::RunLimits;

/// The longest budget header read: a larger one is refused before any work.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The most hops a token records in its path, so a header stays small; deeper runs are
/// refused as a cycle cannot be ruled out.
pub const MAX_PATH: usize = 16;

const VERSION: &str = "v1";

/// A signing key for budget headers, with the id that names it in every header it signs, so
/// that a previous key can still verify during rotation.
#[derive(Clone)]
pub struct HopKey {
    id: String,
    key: hmac::Key,
    material: Secret<Vec<u8>>,
}

/// A key id that is empty, too long or not `[A-Za-z0-9_-]`, or key material under 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run budget key: {0}")]
pub struct InvalidHopKey(&'static str);

impl HopKey {
    /// A key named `id` (1 to 32 of `[A-Za-z0-9_-]`) with at least 32 bytes of `material`.
    pub fn new(id: impl Into<String>, material: Secret<Vec<u8>>) -> Result<Self, InvalidHopKey> {
        let id = id.into();
        let id_ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(InvalidHopKey("the key id must be 1 to 32 of [A-Za-z0-9_-]"));
        }
        if material.expose().len() < 32 {
            return Err(InvalidHopKey("the key must be at least 32 bytes"));
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, material.expose());
        Ok(HopKey { id, key, material })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for HopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HopKey")
            .field("id", &self.id)
            .field("material", &self.material)
            .finish()
    }
}

/// What a budget header says, once verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The run.
    pub run: String,
    /// The depth of the calls made with this header: 1 for an agent the run's first agent
    /// called.
    pub depth: u32,
    /// When the header expires, in seconds since the Unix epoch.
    pub exp: u64,
    /// The agents the run passed through to get here, first to last.
    #[serde(default)]
    pub path: Vec<String>,
    /// What is left of each limit.
    pub rem: RunLimits,
    /// The run's deadline, in milliseconds since the Unix epoch, when it has a wall time limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// A random id, so that every hop counts against its own remainder.
    pub id: String,
}

impl Hop {
    /// The run id.
    pub fn run_id(&self) -> Option<RunId> {
        RunId::new(&self.run).ok()
    }
}

/// Why a budget header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HopError {
    /// Not a well-formed header, or too long.
    #[error("malformed run budget header")]
    Malformed,
    /// Signed with a key this gateway does not hold.
    #[error("run budget header signed with an unknown key")]
    UnknownKey,
    /// The MAC does not match: forged or altered.
    #[error("run budget header does not verify")]
    BadSignature,
    /// Past its expiry.
    #[error("run budget header expired")]
    Expired,
}

/// Signs with the current key; verifies with it or the previous one.
#[derive(Debug, Clone)]
pub struct HopKeys {
    current: HopKey,
    previous: Option<HopKey>,
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl HopKeys {
    /// Signs and verifies with `current`.
    pub fn new(current: HopKey) -> Self {
        HopKeys {
            current,
            previous: None,
        }
    }

    /// Also verifies headers signed with `previous`, until they expire.
    pub fn with_previous(mut self, previous: HopKey) -> Self {
        self.previous = Some(previous);
        self
    }

    /// The header value for `hop`.
    pub fn sign(&self, hop: &Hop) -> String {
        // Serializing plain integers, strings and options cannot fail.
        let json = serde_json::to_vec(hop).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let signed = format!("{VERSION}.{}.{payload}", self.current.id);
        let tag = hmac::sign(&self.current.key, signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Verifies `token` and reads it, refusing it if it expired before `now`.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Hop, HopError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(HopError::Malformed);
        }
        let (signed, mac) = token.rsplit_once('.').ok_or(HopError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(VERSION), Some(kid), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(HopError::Malformed);
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == kid)
            .ok_or(HopError::UnknownKey)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| HopError::Malformed)?;
        hmac::verify(&key.key, signed.as_bytes(), &mac).map_err(|_| HopError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| HopError::Malformed)?;
        let hop: Hop = serde_json::from_slice(&json).map_err(|_| HopError::Malformed)?;
        if hop.exp <= unix_secs(now) {
            return Err(HopError::Expired);
        }
        if hop.run_id().is_none() || hop.path.len() > MAX_PATH {
            return Err(HopError::Malformed);
        }
        Ok(hop)
    }

    /// The expiry of a header signed at `now` that lives for `ttl`.
    pub(crate) fn expiry(now: SystemTime, ttl: Duration) -> u64 {
        unix_secs(now).saturating_add(ttl.as_secs().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> HopKey {
        HopKey::new(id, Secret::new(vec![byte; 32])).unwrap()
    }

    fn hop(exp: u64) -> Hop {
        Hop {
            run: "r1".into(),
            depth: 1,
            exp,
            path: vec!["x".into()],
            rem: RunLimits::new().with_tool_calls(3),
            deadline_ms: None,
            id: "h1".into(),
        }
    }

    #[test]
    fn signed_headers_verify_and_edits_do_not() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let keys = HopKeys::new(key("k2", 2));
        let token = keys.sign(&hop(1_060));
        assert_eq!(keys.verify(&token, now), Ok(hop(1_060)));
        // Expired: a replay after its expiry.
        let late = UNIX_EPOCH + Duration::from_secs(1_060);
        assert_eq!(keys.verify(&token, late), Err(HopError::Expired));
        // Altered payload: a larger remainder, signed by nobody.
        let (head, mac) = token.rsplit_once('.').unwrap();
        let (prefix, _) = head.rsplit_once('.').unwrap();
        let mut more = hop(1_060);
        more.rem = RunLimits::new().with_tool_calls(300);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&more).unwrap());
        let forged = format!("{prefix}.{payload}.{mac}");
        assert_eq!(keys.verify(&forged, now), Err(HopError::BadSignature));
        // Another key id: foreign.
        let foreign = HopKeys::new(key("other", 2)).sign(&hop(1_060));
        assert_eq!(keys.verify(&foreign, now), Err(HopError::UnknownKey));
        // Same id, another key: forged.
        let forged = HopKeys::new(key("k2", 9)).sign(&hop(1_060));
        assert_eq!(keys.verify(&forged, now), Err(HopError::BadSignature));
        assert_eq!(keys.verify("v1.k2", now), Err(HopError::Malformed));
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(keys.verify(&huge, now), Err(HopError::Malformed));
    }

    #[test]
    fn the_previous_key_verifies_during_rotation() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let old = HopKeys::new(key("k1", 1)).sign(&hop(1_060));
        let keys = HopKeys::new(key("k2", 2));
        assert_eq!(keys.verify(&old, now), Err(HopError::UnknownKey));
        let rotated = keys.with_previous(key("k1", 1));
        assert!(rotated.verify(&old, now).is_ok());
        assert!(!format!("{rotated:?}").contains("[1, 1"));
    }

    #[test]
    fn keys_are_checked() {
        assert!(HopKey::new("", Secret::new(vec![0; 32])).is_err());
        assert!(HopKey::new("a b", Secret::new(vec![0; 32])).is_err());
        assert!(HopKey::new("k", Secret::new(vec![0; 31])).is_err());
    }
}
