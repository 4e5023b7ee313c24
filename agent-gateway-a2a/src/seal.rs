//! Task and context ids sealed with the instance that owns them, so that any gateway replica
//! routes follow-ups to that instance without a shared store.
//!
//! A sealed id is `g1.<instance>.<upstream id>.<mac>`: the two parts in unpadded base64url,
//! then the first 16 bytes of HMAC-SHA256 over the agent name, the instance and the id, with a
//! key every replica shares. A client can read but not forge the instance, nor move an id from
//! one agent to another; a tampered id does not open and is answered as an unknown task.
//!
//! ```
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_core::Secret;
//!
//! let sealer = Sealer::new(Secret::new(b"a key of at least 32 bytes......".to_vec())).unwrap();
//! assert!(!format!("{sealer:?}").contains("a key"), "Debug redacts the key");
//! let id = sealer.seal("planner", "eu-1", "task-42");
//! // Allowed: the id opens to its instance and upstream id.
//! let (instance, task) = sealer.open("planner", &id).unwrap();
//! assert_eq!((instance.as_str(), task.as_str()), ("eu-1", "task-42"));
//! // Refused: another agent's id, or one edited by the client.
//! assert!(sealer.open("coder", &id).is_none());
//! let forged = sealer.seal("planner", "eu-1", "task-43");
//! let (head, _) = forged.rsplit_once('.').unwrap();
//! let (_, mac) = id.rsplit_once('.').unwrap();
//! assert!(sealer.open("planner", &format!("{head}.{mac}")).is_none());
//! ```

use std::fmt;

use agent_gateway_core::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "g1.";
const MAC_LEN: usize = 16;

/// Seals ids with an HMAC-SHA256 key. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    /// HMAC keyed once; each use clones this state. Holds the key: never printed.
    keyed: Hmac<Sha256>,
}

/// The sealing key is shorter than 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sealing key must be at least 32 bytes")]
pub struct KeyTooShort;

impl Sealer {
    /// A sealer with `key`, which every gateway replica must share. At least 32 bytes.
    pub fn new(key: Secret<Vec<u8>>) -> Result<Sealer, KeyTooShort> {
        if key.expose().len() < 32 {
            return Err(KeyTooShort);
        }
        // HMAC accepts keys of every length, so this error arm is never taken.
        let keyed = Hmac::<Sha256>::new_from_slice(key.expose()).map_err(|_| KeyTooShort)?;
        Ok(Sealer { keyed })
    }

    fn mac(&self, agent: &str, instance: &str, id: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        for part in [agent, instance, id] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// Seals the upstream `id` owned by `instance` of `agent`.
    pub fn seal(&self, agent: &str, instance: &str, id: &str) -> String {
        let tag = self.mac(agent, instance, id).finalize().into_bytes();
        format!(
            "{PREFIX}{}.{}.{}",
            URL_SAFE_NO_PAD.encode(instance),
            URL_SAFE_NO_PAD.encode(id),
            URL_SAFE_NO_PAD.encode(&tag[..MAC_LEN])
        )
    }

    /// Whether `id` has the form of a sealed id (it may still fail to open).
    pub fn looks_sealed(id: &str) -> bool {
        id.starts_with(PREFIX)
    }

    /// Opens a sealed id of `agent`: its instance and upstream id, or `None` if it is not one
    /// this gateway sealed for that agent.
    pub fn open(&self, agent: &str, sealed: &str) -> Option<(String, String)> {
        let rest = sealed.strip_prefix(PREFIX)?;
        let mut parts = rest.split('.');
        let (instance, id, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let instance = String::from_utf8(URL_SAFE_NO_PAD.decode(instance).ok()?).ok()?;
        let id = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // A shorter tag would be a shorter (guessable) MAC: refuse it before comparing.
        if tag.len() != MAC_LEN {
            return None;
        }
        // Constant-time comparison of the truncated tag.
        self.mac(agent, &instance, &id)
            .verify_truncated_left(&tag)
            .ok()?;
        Some((instance, id))
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &"[redacted]")
            .finish()
    }
}
