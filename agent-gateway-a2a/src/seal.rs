//! Task and context ids sealed with the instance that owns them and the caller they belong to,
//! so that any gateway replica routes follow-ups to that instance without a shared store, and
//! only the caller who started a task can see or touch it.
//!
//! A sealed id is `g3.` then the instance and the upstream id sealed by core's
//! [`Sealer`](agent_gateway_core::seal::Sealer) (ChaCha20-Poly1305), with the agent name and the
//! owner ([`Caller::owner_digest`](agent_gateway_core::Caller::owner_digest): authenticator,
//! issuer, tenant and subject) as its authenticated context, under a key every replica shares.
//! It is stable (the same task always gets the same id for the same caller, so a client can
//! compare the ids of one task across answers) and opaque: a client can neither read nor forge
//! the instance, nor move an id from one agent or one caller to another; an id that does not
//! open for the caller is answered as an unknown task.
//!
//! ```
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_core::{Caller, Secret};
//!
//! let sealer = Sealer::new(Secret::new(b"a key of at least 32 bytes......".to_vec())).unwrap();
//! assert!(!format!("{sealer:?}").contains("a key"), "Debug redacts the key");
//! let (alice, bob) = (Caller::new("alice").owner_digest(), Caller::new("bob").owner_digest());
//! let id = sealer.seal("planner", &alice, "eu-1", "task-42").unwrap();
//! assert!(!id.contains("eu-1") && !id.contains("task-42"), "the id is opaque");
//! assert_eq!(sealer.seal("planner", &alice, "eu-1", "task-42").unwrap(), id, "and stable");
//! // Allowed: the id opens to its instance and upstream id, for its owner.
//! let (instance, task) = sealer.open("planner", &alice, &id).unwrap();
//! assert_eq!((instance.as_str(), task.as_str()), ("eu-1", "task-42"));
//! // Refused: another caller, another agent, or an id edited by the client.
//! assert!(sealer.open("planner", &bob, &id).is_none());
//! assert!(sealer.open("coder", &alice, &id).is_none());
//! let mut forged = id.clone().into_bytes();
//! forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
//! assert!(sealer.open("planner", &alice, std::str::from_utf8(&forged).unwrap()).is_none());
//! ```

use agent_gateway_core::Secret;
pub use agent_gateway_core::seal::{KeyTooShort, SealError};
use agent_gateway_core::seal::{SealKey, Sealer as CoreSealer};

const PREFIX: &str = "g3.";

/// The prefix of a context id the gateway sends upstream, which names its owner.
const CONTEXT_PREFIX: &str = "agw.";

/// The owner of a task or context: a [`Caller::owner_digest`](agent_gateway_core::Caller::owner_digest).
pub type Owner = [u8; 16];

/// Seals ids with a key every replica shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sealer {
    inner: CoreSealer,
}

fn context(kind: &[u8], agent: &str, owner: &Owner) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(kind.len() + 4 + agent.len() + owner.len());
    ctx.extend_from_slice(kind);
    ctx.extend_from_slice(&(agent.len() as u32).to_be_bytes());
    ctx.extend_from_slice(agent.as_bytes());
    ctx.extend_from_slice(owner);
    ctx
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

    /// Seals the upstream `id` owned by `instance` of `agent`, for the caller `owner`.
    pub fn seal(
        &self,
        agent: &str,
        owner: &Owner,
        instance: &str,
        id: &str,
    ) -> Result<String, SealError> {
        let mut plain = Vec::with_capacity(4 + instance.len() + id.len());
        plain.extend_from_slice(&(instance.len() as u32).to_be_bytes());
        plain.extend_from_slice(instance.as_bytes());
        plain.extend_from_slice(id.as_bytes());
        let sealed = self
            .inner
            .seal_stable(&context(b"id", agent, owner), &plain)?;
        Ok(format!("{PREFIX}{sealed}"))
    }

    /// Whether `id` has the form of a sealed id (it may still fail to open).
    pub fn looks_sealed(id: &str) -> bool {
        id.starts_with(PREFIX)
    }

    /// Opens a sealed id of `agent` for the caller `owner`: its instance and upstream id, or
    /// `None` if it is not one this gateway sealed for that agent and that caller.
    pub fn open(&self, agent: &str, owner: &Owner, sealed: &str) -> Option<(String, String)> {
        let sealed = sealed.strip_prefix(PREFIX)?;
        let plain = self
            .inner
            .open(&context(b"id", agent, owner), sealed)
            .ok()?;
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

    /// A keyed tag naming `owner` for `agent`: deterministic, unforgeable without the key, and
    /// meaningless to the agent.
    fn owner_tag(&self, agent: &str, owner: &Owner) -> Result<String, SealError> {
        self.inner
            .seal_stable(&context(b"owner", agent, owner), owner)
    }

    /// The context id sent upstream for a conversation of `owner` that the client calls
    /// `client_id` (or, when `None`, a fresh random one): `agw.<owner tag>.<id>`. The agent
    /// keeps it on every task of the conversation, which is how the gateway tells, in a task
    /// listing, which tasks are the caller's.
    pub fn upstream_context(
        &self,
        agent: &str,
        owner: &Owner,
        client_id: Option<&str>,
    ) -> Result<String, SealError> {
        let tag = self.owner_tag(agent, owner)?;
        let id = match client_id {
            Some(id) => id.to_owned(),
            // A random token, unique per conversation: a seal under a random nonce.
            None => self.inner.seal(b"context", b"")?,
        };
        Ok(format!("{CONTEXT_PREFIX}{tag}.{id}"))
    }

    /// Whether the upstream context id `context` was made by
    /// [`upstream_context`](Self::upstream_context) for `owner` of `agent`.
    pub fn context_owned_by(&self, agent: &str, owner: &Owner, context: &str) -> bool {
        let Some((tag, _)) = context
            .strip_prefix(CONTEXT_PREFIX)
            .and_then(|rest| rest.split_once('.'))
        else {
            return false;
        };
        self.owner_tag(agent, owner).is_ok_and(|mine| {
            // Compared in constant time: the tag is a MAC.
            mine.len() == tag.len()
                && mine
                    .bytes()
                    .zip(tag.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Owner = [1; 16];
    const B: Owner = [2; 16];

    #[test]
    fn short_keys_and_foreign_ids_are_refused() {
        assert!(Sealer::new(Secret::new(vec![1; 31])).is_err());
        let a = Sealer::new(Secret::new(vec![1; 32])).expect("key");
        let b = Sealer::new(Secret::new(vec![2; 32])).expect("key");
        let id = a.seal("x", &A, "i1", "t").expect("seal");
        assert!(b.open("x", &A, &id).is_none());
        assert!(a.open("x", &B, &id).is_none(), "another owner");
        assert!(
            a.open("x", &A, "g2.aTE.dA.AAAA").is_none(),
            "ids without an owner are gone"
        );
        let rotated = b.with_previous(Secret::new(vec![1; 32])).expect("key");
        assert_eq!(rotated.open("x", &A, &id), Some(("i1".into(), "t".into())));
    }

    #[test]
    fn upstream_contexts_name_their_owner() {
        let s = Sealer::new(Secret::new(vec![1; 32])).expect("key");
        let mine = s.upstream_context("x", &A, Some("c1")).expect("ctx");
        assert!(mine.ends_with(".c1"));
        assert!(s.context_owned_by("x", &A, &mine));
        assert!(!s.context_owned_by("x", &B, &mine), "another owner");
        assert!(!s.context_owned_by("y", &A, &mine), "another agent");
        assert!(!s.context_owned_by("x", &A, "c1"), "an untagged context");
        let fresh1 = s.upstream_context("x", &A, None).expect("ctx");
        let fresh2 = s.upstream_context("x", &A, None).expect("ctx");
        assert_ne!(fresh1, fresh2, "fresh contexts are unique");
        assert!(s.context_owned_by("x", &A, &fresh1));
        // A client cannot pass someone else's tag off as its own: its id is wrapped again.
        let wrapped = s.upstream_context("x", &B, Some(&mine)).expect("ctx");
        assert!(!s.context_owned_by("x", &A, &wrapped));
    }
}
