//! A wrapper for secrets: redacted when printed, compared in constant time.
//!
//! ```
//! use agent_gateway_core::Secret;
//!
//! let key = Secret::new(String::from("sk-live-123"));
//! assert_eq!(format!("{key:?}"), "Secret([redacted])");
//! assert_eq!(key, Secret::new(String::from("sk-live-123")));
//! assert_ne!(key, Secret::new(String::from("sk-live-124")));
//! assert_eq!(key.expose(), "sk-live-123");
//! ```

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret value: API keys, tokens, sealing keys, upstream credentials.
///
/// `Debug` never shows the value, so a secret that ends up in a log line or a panic message
/// leaks nothing. Equality runs in time independent of where two values differ, so comparing a
/// presented key with a stored one does not tell an attacker how many leading bytes matched.
/// The value is read only through [`Secret::expose`], which makes every use easy to find.
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value. Every call site is a place where the secret leaves its wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the secret value.
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl<T: AsRef<[u8]>> Secret<T> {
    /// Compares the secret with presented bytes in constant time.
    ///
    /// The time taken depends on the lengths only, never on the contents.
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        self.0.as_ref().ct_eq(other).into()
    }
}

impl<T: AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq_bytes(other.0.as_ref())
    }
}

impl<T: AsRef<[u8]>> Eq for Secret<T> {}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_even_nested() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Config {
            key: Secret<String>,
        }
        let c = Config {
            key: Secret::new("hunter2".into()),
        };
        let printed = format!("{c:?} {c:#?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn equality_depends_on_all_bytes_and_length() {
        let s = Secret::new(b"abcdef".to_vec());
        assert!(s.ct_eq_bytes(b"abcdef"));
        assert!(!s.ct_eq_bytes(b"abcdeg"));
        assert!(!s.ct_eq_bytes(b"abcde"));
        assert!(!s.ct_eq_bytes(b"abcdefg"));
        assert!(!s.ct_eq_bytes(b""));
    }

    #[test]
    fn deserializes_transparently() {
        let s: Secret<String> = serde_json::from_str("\"tok\"").unwrap();
        assert_eq!(s.expose(), "tok");
    }
}
