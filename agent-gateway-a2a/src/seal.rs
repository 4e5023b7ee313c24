//! Task and context ids sealed with the instance that owns them, so that any gateway replica
//! routes follow-ups to that instance without a shared store.
//!
//! A sealed id is `g2.` then the instance and the upstream id sealed by core's
//! [`Sealer`](agent_gateway_core::seal::Sealer) (ChaCha20-Poly1305), with the agent name as its
//! context and a key every replica shares. It is stable (the same task always gets the same id,
//! so a client can compare the ids of one task across answers) and opaque: a client can neither
//! read nor forge the instance, nor move an id from one agent to another; a tampered id does not
//! open and is answered as an unknown task.
//!
//! ```
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_core::Secret;
//!
//! let sealer = Sealer::new(Secret::new(b"a key of at least 32 bytes......".to_vec())).unwrap();
//! assert!(!format!("{sealer:?}").contains("a key"), "Debug redacts the key");
//! let id = sealer.seal("planner", "eu-1", "task-42").unwrap();
//! assert!(!id.contains("eu-1") && !id.contains("task-42"), "the id is opaque");
//! assert_eq!(sealer.seal("planner", "eu-1", "task-42").unwrap(), id, "and stable");
//! // Allowed: the id opens to its instance and upstream id.
//! let (instance, task) = sealer.open("planner", &id).unwrap();
//! assert_eq!((instance.as_str(), task.as_str()), ("eu-1", "task-42"));
//! // Refused: another agent's id, or one edited by the client.
//! assert!(sealer.open("coder", &id).is_none());
//! let mut forged = id.clone().into_bytes();
//! forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
//! assert!(sealer.open("planner", std::str::from_utf8(&forged).unwrap()).is_none());
//! ```

use agent_gateway_core::Secret;
pub use agent_gateway_core::seal::{KeyTooShort, SealError};
use agent_gateway_core::seal::{SealKey, Sealer as CoreSealer};

const PREFIX: &str = "g2.";

/// Seals ids with a key every replica shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sealer {
    inner: CoreSealer,
}

impl Sealer {
    /// A sealer with `key`, which every gateway replica must share. At least 32 bytes.
    pub fn new(key: Secret<Vec<u8>>) -> Result<Sealer, KeyTooShort> {
        Ok(Sealer {
            inner: CoreSealer::new(SealKey::derive(&key)?),
        })
    }

    /// Also opens ids sealed under `key`, the key being rotated out. At least 32 bytes.
    pub fn with_previous(self, key: Secret<Vec<u8>>) -> Result<Sealer, KeyTooShort> {
        Ok(Sealer {
            inner: self.inner.with_previous(SealKey::derive(&key)?),
        })
    }

    /// Seals the upstream `id` owned by `instance` of `agent`.
    pub fn seal(&self, agent: &str, instance: &str, id: &str) -> Result<String, SealError> {
        let mut plain = Vec::with_capacity(4 + instance.len() + id.len());
        plain.extend_from_slice(&(instance.len() as u32).to_be_bytes());
        plain.extend_from_slice(instance.as_bytes());
        plain.extend_from_slice(id.as_bytes());
        let sealed = self.inner.seal_stable(agent.as_bytes(), &plain)?;
        Ok(format!("{PREFIX}{sealed}"))
    }

    /// Whether `id` has the form of a sealed id (it may still fail to open).
    pub fn looks_sealed(id: &str) -> bool {
        id.starts_with(PREFIX)
    }

    /// Opens a sealed id of `agent`: its instance and upstream id, or `None` if it is not one
    /// this gateway sealed for that agent.
    pub fn open(&self, agent: &str, sealed: &str) -> Option<(String, String)> {
        let sealed = sealed.strip_prefix(PREFIX)?;
        let plain = self.inner.open(agent.as_bytes(), sealed).ok()?;
        let (len, rest) = plain.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (instance, id) = rest.split_at(len);
        Some((
            String::from_utf8(instance.to_vec()).ok()?,
            String::from_utf8(id.to_vec()).ok()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_and_foreign_ids_are_refused() {
        assert!(Sealer::new(Secret::new(vec![1; 31])).is_err());
        let a = Sealer::new(Secret::new(vec![1; 32])).expect("key");
        let b = Sealer::new(Secret::new(vec![2; 32])).expect("key");
        let id = a.seal("x", "i1", "t").expect("seal");
        assert!(b.open("x", &id).is_none());
        assert!(
            a.open("x", "g1.aTE.dA.AAAA").is_none(),
            "the HMAC era is gone"
        );
        let rotated = b.with_previous(Secret::new(vec![1; 32])).expect("key");
        assert_eq!(rotated.open("x", &id), Some(("i1".into(), "t".into())));
    }
}
