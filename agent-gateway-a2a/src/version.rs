//! The A2A protocol version a request speaks, read from the `A2A-Version` service parameter.
//!
//! ```
//! use agent_gateway_a2a::version::Version;
//!
//! // Allowed: "1.0", and an absent header, which means 0.3.
//! assert_eq!(Version::parse(Some("1.0")), Ok(Version::V1_0));
//! assert_eq!(Version::parse(None), Ok(Version::V0_3));
//! // Refused: a version the gateway does not speak.
//! assert!(Version::parse(Some("0.5")).is_err());
//! ```

use std::fmt;

use http::HeaderMap;

/// The header (and query parameter) naming the protocol version.
pub const VERSION_HEADER: &str = "a2a-version";

/// An A2A protocol version the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// A2A 0.3: slash-separated method names, `kind`-tagged objects. Also what an absent header means.
    V0_3,
    /// A2A 1.0 (spec 1.0.1): PascalCase method names, ProtoJSON encoding.
    V1_0,
}

/// A version the gateway does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A2A version `{0}` is not supported")]
pub struct UnsupportedVersion(pub String);

impl Version {
    /// Parses the value of `A2A-Version`; absent or empty means 0.3. A patch part is ignored.
    pub fn parse(value: Option<&str>) -> Result<Version, UnsupportedVersion> {
        let v = value.map(str::trim).unwrap_or("");
        let major_minor = v.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        match major_minor.as_str() {
            "" | "0.3" => Ok(Version::V0_3),
            "1.0" => Ok(Version::V1_0),
            _ => Err(UnsupportedVersion(v.chars().take(16).collect())),
        }
    }

    /// Reads the version from the headers, else from the `A2A-Version` query parameter.
    pub fn from_request(
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Version, UnsupportedVersion> {
        if let Some(h) = headers.get(VERSION_HEADER) {
            return Version::parse(Some(h.to_str().unwrap_or("?")));
        }
        let from_query = query.and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case(VERSION_HEADER))
                .map(|(_, v)| v)
        });
        Version::parse(from_query)
    }

    /// The `Major.Minor` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::V0_3 => "0.3",
            Version::V1_0 => "1.0",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
