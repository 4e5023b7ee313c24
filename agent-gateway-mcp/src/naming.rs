//! Reversible, collision-proof names for federated tools and prompts: `server` + separator +
//! the upstream's own name.
//!
//! A server name may not contain any character of the separator. The first occurrence of the
//! separator in a joined name therefore starts right after the server name (an earlier one
//! would have to begin inside the server name, with a separator character), so splitting at
//! the first occurrence gives back exactly the server and the original name, whatever the
//! original name contains, the separator included. Hyphenated server names are fine with the
//! default separator `__`.
//!
//! ```
//! use agent_gateway_mcp::naming::{Naming, Separator, ServerName};
//!
//! let naming = Naming::new(Separator::default());
//! let server = ServerName::new("git-hub").unwrap();
//! let joined = naming.join(&server, "create__issue-v2.1");
//! assert_eq!(joined, "git-hub__create__issue-v2.1");
//! assert_eq!(naming.split(&joined), Some(("git-hub", "create__issue-v2.1")));
//!
//! // A server name that shares a character with the separator is refused.
//! assert!(naming.check(&ServerName::new("my_server").unwrap()).is_err());
//! ```

use std::fmt;
use std::sync::Arc;

/// Why a server name or a separator is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty, longer than 64 characters, or a character outside `A-Z a-z 0-9 _ - .`.
    #[error("invalid {what} `{value}`: use 1 to 64 of A-Z a-z 0-9 _ - .")]
    Invalid {
        /// `server name` or `separator`.
        what: &'static str,
        /// The refused value.
        value: String,
    },
    /// The server name contains a character of the separator, so a split could be ambiguous.
    #[error("server name `{server}` contains a character of the separator `{separator}`")]
    Ambiguous {
        /// The server name.
        server: String,
        /// The separator.
        separator: String,
    },
    /// Two upstreams have the same name.
    #[error("duplicate server name `{0}`")]
    Duplicate(String),
    /// More than one upstream serves names without a prefix.
    #[error("at most one upstream may serve names without a prefix")]
    Unprefixed,
}

fn valid(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The name of one upstream server, as it prefixes its tools.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerName(Arc<str>);

impl ServerName {
    /// A server name: 1 to 64 of `A-Z a-z 0-9 _ - .` (the characters the spec allows in tool
    /// names, so a joined name stays a valid tool name).
    pub fn new(name: &str) -> Result<Self, NameError> {
        if valid(name) {
            Ok(ServerName(name.into()))
        } else {
            Err(NameError::Invalid {
                what: "server name",
                value: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What joins a server name and a tool name. The default, `__`, keeps joined names valid as
/// LLM function names (which refuse `.`) and allows hyphenated server names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separator(Arc<str>);

impl Separator {
    /// A separator: 1 to 64 of `A-Z a-z 0-9 _ - .`.
    pub fn new(sep: &str) -> Result<Self, NameError> {
        if valid(sep) {
            Ok(Separator(sep.into()))
        } else {
            Err(NameError::Invalid {
                what: "separator",
                value: sep.to_owned(),
            })
        }
    }

    /// The separator.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Separator {
    fn default() -> Self {
        Separator("__".into())
    }
}

/// Joins and splits federated names.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    separator: Separator,
}

impl Naming {
    /// Naming with `separator`.
    pub fn new(separator: Separator) -> Self {
        Naming { separator }
    }

    /// The separator.
    pub fn separator(&self) -> &Separator {
        &self.separator
    }

    /// Checks that `server` can never make a split ambiguous.
    pub fn check(&self, server: &ServerName) -> Result<(), NameError> {
        if server
            .as_str()
            .chars()
            .any(|c| self.separator.0.contains(c))
        {
            return Err(NameError::Ambiguous {
                server: server.to_string(),
                separator: self.separator.0.to_string(),
            });
        }
        Ok(())
    }

    /// The name the client sees for `name` of `server`.
    pub fn join(&self, server: &ServerName, name: &str) -> String {
        let mut s = String::with_capacity(server.0.len() + self.separator.0.len() + name.len());
        s.push_str(&server.0);
        s.push_str(&self.separator.0);
        s.push_str(name);
        s
    }

    /// The server and original name of a joined name, or `None` if it has no separator or an
    /// empty server part.
    pub fn split<'a>(&self, joined: &'a str) -> Option<(&'a str, &'a str)> {
        let at = joined.find(&*self.separator.0)?;
        if at == 0 {
            return None;
        }
        Some((&joined[..at], &joined[at + self.separator.0.len()..]))
    }
}

/// A federated tool or prompt name as a policy check sees it: the upstream that owns it and
/// its name there, beside the joined `server__tool` the request's target carries.
///
/// The front puts one in a request's extensions when it is configured with the federation's
/// naming ([`McpFrontConfig::with_naming`](crate::McpFrontConfig::with_naming)) and the
/// request's target splits under it. A check reads it with
/// `req.extensions().get::<FederatedTarget>()`.
///
/// ```
/// use agent_gateway_mcp::naming::{FederatedTarget, Naming};
///
/// let target = FederatedTarget::split(&Naming::default(), "git-hub__create-issue").unwrap();
/// assert_eq!((target.upstream(), target.name()), ("git-hub", "create-issue"));
/// assert!(FederatedTarget::split(&Naming::default(), "plain").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedTarget {
    upstream: String,
    name: String,
}

impl FederatedTarget {
    /// The upstream and name `joined` stands for under `naming`, if it splits.
    pub fn split(naming: &Naming, joined: &str) -> Option<Self> {
        let (upstream, name) = naming.split(joined)?;
        Some(FederatedTarget {
            upstream: upstream.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The upstream server's name.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The tool or prompt's name on that upstream.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_for_every_allowed_name() {
        let alphabet = ["a", "Z", "0", "_", "-", ".", "__", "_-_", "..", "-_"];
        for sep in ["__", "_", ".", "-", "--", "~x"] {
            let Ok(sep) = Separator::new(sep) else {
                assert_eq!(sep, "~x");
                continue;
            };
            let naming = Naming::new(sep.clone());
            for server in ["a", "git-hub", "x.y", "s_1", "a-b.c_d"] {
                let server = ServerName::new(server).unwrap();
                if naming.check(&server).is_err() {
                    assert!(server.as_str().chars().any(|c| sep.as_str().contains(c)));
                    continue;
                }
                for a in alphabet {
                    for b in alphabet {
                        let tool = format!("{a}{b}{a}");
                        let joined = naming.join(&server, &tool);
                        assert_eq!(
                            naming.split(&joined),
                            Some((server.as_str(), tool.as_str())),
                            "{joined}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_bad_names() {
        assert!(ServerName::new("").is_err());
        assert!(ServerName::new("a/b").is_err());
        assert!(ServerName::new(&"a".repeat(65)).is_err());
        assert!(Separator::new(" ").is_err());
        assert_eq!(Naming::default().split("__x"), None);
        assert_eq!(Naming::default().split("plain"), None);
    }
}
