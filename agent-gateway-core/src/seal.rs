//! Sealing small state into an opaque token that only the gateway can open: session ids,
//! parked-call state, task and context ids.
//!
//! A sealed token is the state encrypted and authenticated with ChaCha20-Poly1305 (ring),
//! under a random 96-bit nonce, in unpadded base64url. Every replica holding the key opens what
//! any replica sealed, so no shared store is needed; a client can neither read nor forge one.
//! A `context` (authenticated, not stored) binds a token to where it is valid, such as the agent
//! it names, so that a token moved elsewhere does not open. [`Sealer::seal_stable`] derives the
//! nonce from the state instead, for ids a client compares across answers. To rotate the key, seal with the new
//! key and keep the old one as [`Sealer::with_previous`] until the tokens it sealed expire.
//!
//! ```
//! use agent_gateway_core::Secret;
//! use agent_gateway_core::seal::{SealError, SealKey, Sealer};
//! use serde_json::{Value, json};
//!
//! let old = SealKey::new(Secret::new([1; 32]));
//! let sealer = Sealer::new(SealKey::new(Secret::new([2; 32])));
//! assert!(!format!("{sealer:?}").contains("[2"), "Debug redacts the keys");
//! let token = sealer.seal_json(b"planner", &json!({"instance": "eu-1"})).unwrap();
//! // Allowed: the token opens in its context.
//! let state: Value = sealer.open_json(b"planner", &token).unwrap();
//! assert_eq!(state["instance"], "eu-1");
//! // Refused: another context, or a token edited by the client.
//! assert_eq!(sealer.open(b"coder", &token), Err(SealError::Invalid));
//! let mut forged = token.clone().into_bytes();
//! forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
//! assert!(sealer.open(b"planner", std::str::from_utf8(&forged).unwrap()).is_err());
//! // Rotation: a token sealed under the previous key still opens.
//! let before = Sealer::new(old.clone()).seal(b"", b"state").unwrap();
//! assert!(sealer.open(b"", &before).is_err());
//! let rotated = sealer.with_previous(old);
//! assert_eq!(rotated.open(b"", &before).unwrap(), b"state");
//! ```

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Secret;

/// The longest token [`Sealer::open`] reads, so a huge header costs no work.
pub const MAX_SEALED_LEN: usize = 8 * 1024;

/// A 256-bit sealing key. Share it between replicas.
#[derive(Clone, Debug)]
pub struct SealKey(Secret<[u8; 32]>);

/// The key material given to [`SealKey::derive`] is shorter than 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sealing key must be at least 32 bytes")]
pub struct KeyTooShort;

impl SealKey {
    /// A key of exactly 32 random bytes.
    pub fn new(key: Secret<[u8; 32]>) -> Self {
        SealKey(key)
    }

    /// A key derived (HKDF-SHA256) from key material of any length of at least 32 bytes, such
    /// as a configured secret.
    pub fn derive(material: &Secret<Vec<u8>>) -> Result<Self, KeyTooShort> {
        if material.expose().len() < 32 {
            return Err(KeyTooShort);
        }
        let prk = Salt::new(HKDF_SHA256, b"agent-gateway seal").extract(material.expose());
        let mut key = [0u8; 32];
        prk.expand(&[b"v1"], HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut key))
            .map_err(|_| KeyTooShort)?;
        Ok(SealKey(Secret::new(key)))
    }

    /// The key that derives nonces for [`Sealer::seal_stable`]: separate from the sealing key.
    fn nonce_key(&self) -> hmac::Key {
        let prk = Salt::new(HKDF_SHA256, b"agent-gateway seal nonce").extract(self.0.expose());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit, so the fallback is never taken.
        let filled = prk
            .expand(&[b"v1"], HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut key));
        if filled.is_err() {
            key = *self.0.expose();
        }
        hmac::Key::new(hmac::HMAC_SHA256, &key)
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always the right length for ChaCha20-Poly1305.
        #[allow(clippy::expect_used)]
        let key = UnboundKey::new(&CHACHA20_POLY1305, self.0.expose()).expect("32-byte key");
        LessSafeKey::new(key)
    }
}

/// Why a token could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The token is malformed, too long, tampered with, sealed under another key or in
    /// another context, or does not hold the expected state.
    #[error("invalid sealed token")]
    Invalid,
    /// The system random generator failed, or the state could not be encoded.
    #[error("sealing failed")]
    Crypto,
}

/// Seals and opens tokens with a current key, and optionally a previous one. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    current: LessSafeKey,
    nonce_key: hmac::Key,
    previous: Option<LessSafeKey>,
    rng: SystemRandom,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &"[redacted]")
            .field("previous", &self.previous.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: SealKey) -> Self {
        Sealer {
            current: key.aead(),
            nonce_key: key.nonce_key(),
            previous: None,
            rng: SystemRandom::new(),
        }
    }

    /// Also opens tokens sealed under `key`, the key being rotated out. New tokens are always
    /// sealed under the current key.
    pub fn with_previous(mut self, key: SealKey) -> Self {
        self.previous = Some(key.aead());
        self
    }

    /// Seals `plain` for `context`, under a random nonce: the same state sealed twice gives
    /// two different tokens.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError::Crypto)?;
        self.seal_with_nonce(nonce, context, plain)
    }

    /// Seals `plain` for `context` so that the same state always gives the same token (the
    /// nonce is a keyed hash of the context and the state, as in SIV). For ids a client compares,
    /// such as a task id seen in several answers; it reveals only that two tokens are equal.
    pub fn seal_stable(&self, context: &[u8], plain: &[u8]) -> Result<String, SealError> {
        let mut mac = hmac::Context::with_key(&self.nonce_key);
        mac.update(&(context.len() as u64).to_be_bytes());
        mac.update(context);
        mac.update(plain);
        let tag = mac.sign();
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        self.seal_with_nonce(nonce, context, plain)
    }

    fn seal_with_nonce(
        &self,
        nonce: [u8; NONCE_LEN],
        context: &[u8],
        plain: &[u8],
    ) -> Result<String, SealError> {
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + CHACHA20_POLY1305.tag_len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .current
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut out[NONCE_LEN..],
            )
            .map_err(|_| SealError::Crypto)?;
        out.extend_from_slice(tag.as_ref());
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a token sealed for `context`, under the current or the previous key.
    pub fn open(&self, context: &[u8], sealed: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(SealError::Invalid);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Invalid)?;
        if raw.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return Err(SealError::Invalid);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        for key in std::iter::once(&self.current).chain(self.previous.as_ref()) {
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Invalid)?;
            let mut buf = body.to_vec();
            if let Ok(plain) = key.open_in_place(nonce, Aad::from(context), &mut buf) {
                let len = plain.len();
                buf.truncate(len);
                return Ok(buf);
            }
        }
        Err(SealError::Invalid)
    }

    /// Seals `state`, serialized as JSON, for `context`.
    pub fn seal_json<T: Serialize + ?Sized>(
        &self,
        context: &[u8],
        state: &T,
    ) -> Result<String, SealError> {
        let plain = serde_json::to_vec(state).map_err(|_| SealError::Crypto)?;
        self.seal(context, &plain)
    }

    /// Opens a token sealed with [`seal_json`](Self::seal_json) into a `T`.
    pub fn open_json<T: DeserializeOwned>(
        &self,
        context: &[u8],
        sealed: &str,
    ) -> Result<T, SealError> {
        let plain = self.open(context, sealed)?;
        serde_json::from_slice(&plain).map_err(|_| SealError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SealKey {
        SealKey::new(Secret::new([b; 32]))
    }

    #[test]
    fn tokens_differ_each_time_and_hide_the_state() {
        let sealer = Sealer::new(key(3));
        let (a, b) = (
            sealer.seal(b"", b"same").expect("seal"),
            sealer.seal(b"", b"same").expect("seal"),
        );
        assert_ne!(a, b, "a fresh nonce per token");
        assert!(!a.contains("same"));
        assert_eq!(sealer.open(b"", &a).expect("open"), b"same");
    }

    #[test]
    fn stable_tokens_repeat_only_for_the_same_state_and_context() {
        let sealer = Sealer::new(key(6));
        let a = sealer.seal_stable(b"ctx", b"task-1").expect("seal");
        assert_eq!(a, sealer.seal_stable(b"ctx", b"task-1").expect("seal"));
        assert_ne!(a, sealer.seal_stable(b"ctx", b"task-2").expect("seal"));
        assert_ne!(a, sealer.seal_stable(b"other", b"task-1").expect("seal"));
        assert_ne!(
            a,
            Sealer::new(key(7))
                .seal_stable(b"ctx", b"task-1")
                .expect("seal")
        );
        assert_eq!(sealer.open(b"ctx", &a).expect("open"), b"task-1");
        assert_eq!(sealer.open(b"other", &a), Err(SealError::Invalid));
    }

    #[test]
    fn malformed_long_and_foreign_tokens_are_invalid() {
        let sealer = Sealer::new(key(4));
        assert_eq!(sealer.open(b"", "not base64!"), Err(SealError::Invalid));
        assert_eq!(sealer.open(b"", "AAAA"), Err(SealError::Invalid));
        let long = "A".repeat(MAX_SEALED_LEN + 1);
        assert_eq!(sealer.open(b"", &long), Err(SealError::Invalid));
        let other = Sealer::new(key(5)).seal(b"", b"x").expect("seal");
        assert_eq!(sealer.open(b"", &other), Err(SealError::Invalid));
        let json = sealer.seal(b"", b"not json").expect("seal");
        assert_eq!(
            sealer.open_json::<serde_json::Value>(b"", &json),
            Err(SealError::Invalid)
        );
    }

    #[test]
    fn derived_keys_need_32_bytes_and_are_stable() {
        assert_eq!(
            SealKey::derive(&Secret::new(vec![1; 31])).map(|_| ()),
            Err(KeyTooShort)
        );
        let a = Sealer::new(SealKey::derive(&Secret::new(vec![1; 40])).expect("key"));
        let b = Sealer::new(SealKey::derive(&Secret::new(vec![1; 40])).expect("key"));
        let token = a.seal(b"ctx", b"x").expect("seal");
        assert_eq!(b.open(b"ctx", &token).expect("open"), b"x");
    }
}
