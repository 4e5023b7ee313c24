//! The validated names of upstreams and of their instances.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The longest upstream name accepted, in bytes.
pub const MAX_UPSTREAM_NAME_LEN: usize = 64;

/// The longest instance id accepted, in bytes.
pub const MAX_INSTANCE_ID_LEN: usize = 256;

/// The name of an upstream: an MCP server, an A2A agent or an LLM model alias.
///
/// The rule: 1 to 64 ASCII letters, digits, `_`, `-` and `.`, starting with a letter or a
/// digit. Names appear in tool-name prefixes, counter keys, metrics labels and logs, so they
/// hold no whitespace, no `/` and no `:`; a protocol crate can use those as separators and
/// still split a composed name back unambiguously.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamName(Arc<str>);

/// The id of one instance of an upstream: a replica of an MCP server, an instance of an agent,
/// a deployment of a model.
///
/// The rule: 1 to 256 visible ASCII characters (no whitespace, no control characters). It is
/// looser than [`UpstreamName`] because instance ids are often addresses
/// (`10.0.0.7:8080`, `https://eu.example.com/agent`), and it is still safe in headers, logs and
/// the task-affinity state a protocol crate keeps.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(Arc<str>);

/// The error returned for an [`UpstreamName`] or an [`InstanceId`] that breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidName {
    what: &'static str,
    reason: &'static str,
}

impl InvalidName {
    /// Which kind of name was rejected: `"upstream name"` or `"instance id"`.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Which part of the rule it broke.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl UpstreamName {
    /// Validates and wraps an upstream name.
    pub fn new(name: impl AsRef<str>) -> Result<Self, InvalidName> {
        let name = name.as_ref();
        let err = |reason| InvalidName {
            what: "upstream name",
            reason,
        };
        let first = name.bytes().next().ok_or(err("empty"))?;
        if name.len() > MAX_UPSTREAM_NAME_LEN {
            return Err(err("longer than 64 bytes"));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(err("does not start with an ASCII letter or digit"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(err("holds a character outside [A-Za-z0-9_.-]"));
        }
        Ok(UpstreamName(name.into()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl InstanceId {
    /// Validates and wraps an instance id.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidName> {
        let id = id.as_ref();
        let err = |reason| InvalidName {
            what: "instance id",
            reason,
        };
        if id.is_empty() {
            return Err(err("empty"));
        }
        if id.len() > MAX_INSTANCE_ID_LEN {
            return Err(err("longer than 256 bytes"));
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err("not visible ASCII"));
        }
        Ok(InstanceId(id.into()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! name_impls {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self.0)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::new(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = InvalidName;
            fn try_from(value: &str) -> Result<Self, Self::Error> {
                $ty::new(value)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = InvalidName;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $ty::new(value)
            }
        }
    };
}

name_impls!(UpstreamName);
name_impls!(InstanceId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_name_rule() {
        for ok in [
            "a",
            "weather",
            "gpt-4.1",
            "eu_west-1.api",
            "0day",
            &"x".repeat(64),
        ] {
            assert_eq!(
                UpstreamName::new(ok).map(|n| n.to_string()),
                Ok(ok.to_owned())
            );
        }
        for (bad, reason) in [
            ("", "empty"),
            (&"x".repeat(65), "longer than 64 bytes"),
            (".hidden", "does not start with an ASCII letter or digit"),
            ("-flag", "does not start with an ASCII letter or digit"),
            ("a/b", "holds a character outside [A-Za-z0-9_.-]"),
            ("a:b", "holds a character outside [A-Za-z0-9_.-]"),
            ("a b", "holds a character outside [A-Za-z0-9_.-]"),
            ("météo", "holds a character outside [A-Za-z0-9_.-]"),
        ] {
            let err = UpstreamName::new(bad).expect_err(bad);
            assert_eq!(
                (err.what(), err.reason()),
                ("upstream name", reason),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn instance_id_rule() {
        for ok in [
            "a",
            "10.0.0.7:8080",
            "https://eu.example.com/agent",
            &"i".repeat(256),
        ] {
            assert_eq!(
                InstanceId::new(ok).map(|n| n.to_string()),
                Ok(ok.to_owned())
            );
        }
        for (bad, reason) in [
            ("", "empty"),
            (&"i".repeat(257), "longer than 256 bytes"),
            ("with space", "not visible ASCII"),
            ("tab\there", "not visible ASCII"),
            ("é", "not visible ASCII"),
        ] {
            let err = InstanceId::new(bad).expect_err(bad);
            assert_eq!(
                (err.what(), err.reason()),
                ("instance id", reason),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_and_borrow() {
        let name: UpstreamName = "weather".parse().expect("valid");
        assert_eq!(format!("{name:?}"), "UpstreamName(weather)");
        let set: std::collections::BTreeSet<UpstreamName> = [name].into();
        assert!(set.contains("weather"));
        assert!(InstanceId::try_from(String::from("a b")).is_err());
    }
}
