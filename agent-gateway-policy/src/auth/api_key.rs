use std::collections::HashMap;
use std::fmt;

use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::{Caller, Secret};
use async_trait::async_trait;
use http::HeaderName;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::authenticator::{AuthError, Authenticator, Credentials, X_API_KEY};
use super::principal::Principal;

/// The SHA-256 hash of an API key: what the gateway stores instead of the key.
///
/// Keeping only hashes means a leaked configuration file, memory dump or debug print does not
/// leak usable keys. Unlike passwords, API keys are long and random, so a fast hash is enough:
/// there is nothing to guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The hash of `key`.
    pub fn of(key: &str) -> Self {
        KeyHash(Sha256::digest(key.as_bytes()).into())
    }

    /// A hash given as 64 hexadecimal digits, as `sha256sum` prints it.
    pub fn from_hex(hex: &str) -> Result<Self, InvalidKeyHash> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(InvalidKeyHash(()));
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16).ok_or(InvalidKeyHash(()));
            // Two hex digits always fit a byte.
            *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?)
                .map_err(|_| InvalidKeyHash(()))?;
        }
        Ok(KeyHash(out))
    }

    /// The hash as 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        crate::hex::hex(&self.0)
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A short fingerprint tells keys apart in logs without handing out the full hash.
        write!(f, "KeyHash({}…)", &self.to_hex()[..8])
    }
}

/// A key hash that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an API key hash must be 64 hexadecimal digits")]
pub struct InvalidKeyHash(());

/// Authenticates gateway-issued API keys sent as `Authorization: Bearer <key>` or
/// `x-api-key: <key>`.
///
/// Keys are stored as [`KeyHash`]es only. A presented key is hashed, looked up by its hash,
/// and the stored hash is compared in constant time. The lookup's timing can only depend on
/// the hash, which an attacker cannot steer byte by byte the way they can steer a key, so
/// timing reveals nothing about any stored key.
///
/// When `x-api-key` (or a header added with [`with_header`](ApiKeys::with_header)) is present,
/// it is the key and must be valid; the bearer token is then left to other authenticators.
/// Otherwise the bearer token must be a valid key. The [`Principal`] of the key becomes the
/// caller, with [`AuthMethod::ApiKey`].
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: HashMap<KeyHash, Principal>,
    headers: Vec<HeaderName>,
}

impl ApiKeys {
    /// No keys yet; reads `x-api-key` and bearer tokens.
    pub fn new() -> Self {
        ApiKeys {
            keys: HashMap::new(),
            headers: vec![X_API_KEY],
        }
    }

    /// Adds a key given in plaintext. Only its hash is kept.
    pub fn with_key(self, key: Secret<String>, principal: Principal) -> Self {
        self.with_key_hash(KeyHash::of(key.expose()), principal)
    }

    /// Adds a key given by its hash.
    pub fn with_key_hash(mut self, hash: KeyHash, principal: Principal) -> Self {
        self.keys.insert(hash, principal);
        self
    }

    /// Also reads keys from header `name`. The auth layer strips it before the request goes
    /// upstream.
    pub fn with_header(mut self, name: HeaderName) -> Self {
        if !self.headers.contains(&name) {
            self.headers.push(name);
        }
        self
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no keys are configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn verify(&self, presented: &str) -> Result<Caller, AuthError> {
        if presented.is_empty() {
            return Err(AuthError::invalid("empty API key"));
        }
        let hash = KeyHash::of(presented);
        match self.keys.get_key_value(&hash) {
            Some((stored, principal)) if bool::from(stored.0.ct_eq(&hash.0)) => {
                Ok(principal.to_caller(AuthMethod::ApiKey))
            }
            _ => Err(AuthError::invalid("unknown API key")),
        }
    }
}

#[async_trait]
impl Authenticator for ApiKeys {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        for name in &self.headers {
            if let Some(key) = credentials.header(name)? {
                return self.verify(key).map(Some);
            }
        }
        match credentials.bearer()? {
            Some(key) => self.verify(key).map(Some),
            None => Ok(None),
        }
    }

    fn credential_headers(&self) -> Vec<HeaderName> {
        self.headers.clone()
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .field("headers", &self.headers)
            .finish()
    }
}
