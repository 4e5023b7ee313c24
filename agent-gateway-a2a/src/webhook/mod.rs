//! The allow-list of push-notification webhook URLs.
//!
//! An agent POSTs task updates to the URL a client hands it, so an unchecked URL lets any
//! client make the agent (inside the network) call any host: server-side request forgery. The
//! gateway refuses every webhook outside the list; the empty list refuses all (fail closed).
//!
//! A URL is compared after normalising its path the way an HTTP client might: unreserved
//! characters are percent-decoded and `.` segments removed (RFC 3986). A `..` segment, in any
//! spelling (`..`, `%2e%2e`, `.%2E`, trailing `/..`), and an encoded slash or backslash are
//! refused outright, and a prefix matches on whole path segments only.
//!
//! ```
//! use agent_gateway_a2a::webhook::WebhookAllowList;
//!
//! let list = WebhookAllowList::new().allow("https://hooks.example.com/a2a").unwrap();
//! // Allowed: under an allowed prefix, spelled in any equivalent way.
//! assert!(list.permits("https://hooks.example.com/a2a/task-1"));
//! assert!(list.permits("https://HOOKS.example.com:443/a2a/./%74ask-1"));
//! // Denied: another host, another scheme, a path outside the prefix or only sharing its
//! // first characters, a dot-dot in any form, a userinfo trick.
//! assert!(!list.permits("https://evil.example.com/a2a/x"));
//! assert!(!list.permits("http://hooks.example.com/a2a/x"));
//! assert!(!list.permits("https://hooks.example.com/admin"));
//! assert!(!list.permits("https://hooks.example.com/a2a-evil/x"));
//! assert!(!list.permits("https://hooks.example.com/a2a/%2e%2e/admin"));
//! assert!(!list.permits("https://hooks.example.com/a2a/x/.."));
//! assert!(!list.permits("https://hooks.example.com@evil.com/a2a/x"));
//! ```

mod fields;

pub(crate) use self::fields::{check, key};

use http::Uri;

/// URL prefixes a webhook must fall under.
#[derive(Debug, Clone, Default)]
pub struct WebhookAllowList {
    prefixes: Vec<Normalised>,
}

/// A prefix that is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an absolute http or https URL")]
pub struct InvalidPrefix(pub String);

/// A URL reduced to what is compared: scheme, lowercase host, port, normalised path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Normalised {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes percent-encoded unreserved characters and upper-cases the hex of the others;
/// `None` for a malformed escape, an encoded `/` or `\`, or a raw `\`.
fn decode_unreserved(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let b = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                if is_unreserved(b) {
                    out.push(char::from(b));
                } else if matches!(b, b'/' | b'\\') {
                    return None;
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
                i += 3;
            }
            b'\\' => return None,
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    Some(out)
}

/// The path with `.` segments removed; `None` if any segment is `..`.
fn normalise_path(path: &str) -> Option<String> {
    let decoded = decode_unreserved(path)?;
    let mut out = Vec::new();
    let segments: Vec<&str> = decoded.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.into_iter().enumerate() {
        match seg {
            ".." => return None,
            // A trailing `.` still names the directory: keep the slash it implies.
            "." if i == last => out.push(""),
            "." => {}
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    Some(if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    })
}

fn normalise(url: &str) -> Option<Normalised> {
    let uri: Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    Some(Normalised {
        host: authority.host().to_ascii_lowercase(),
        port: authority.port_u16().unwrap_or(default_port),
        path: normalise_path(uri.path())?,
        scheme,
    })
}

impl Normalised {
    /// Whether `url` is this prefix or lies under it, on a path-segment boundary.
    fn covers(&self, url: &Normalised) -> bool {
        let (p, u) = (&self.path, &url.path);
        self.scheme == url.scheme
            && self.host == url.host
            && self.port == url.port
            && (u == p
                || (p.ends_with('/') && u.starts_with(p.as_str()))
                || u.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

impl WebhookAllowList {
    /// The empty list: every webhook is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows webhooks with `prefix`'s scheme, host and port whose normalised path is the
    /// prefix's path or lies under it (on a `/` boundary).
    pub fn allow(mut self, prefix: &str) -> Result<Self, InvalidPrefix> {
        self.prefixes
            .push(normalise(prefix).ok_or_else(|| InvalidPrefix(prefix.to_owned()))?);
        Ok(self)
    }

    /// Whether `url` is allowed.
    pub fn permits(&self, url: &str) -> bool {
        let Some(url) = normalise(url) else {
            return false;
        };
        self.prefixes.iter().any(|p| p.covers(&url))
    }
}

#[cfg(test)]
mod tests;
