//! The allow-list of push-notification webhook URLs.
//!
//! An agent POSTs task updates to the URL a client hands it, so an unchecked URL lets any
//! client make the agent (inside the network) call any host: server-side request forgery. The
//! gateway refuses every webhook outside the list; the empty list refuses all (fail closed).
//!
//! ```
//! use agent_gateway_a2a::webhook::WebhookAllowList;
//!
//! let list = WebhookAllowList::new().allow("https://hooks.example.com/a2a/").unwrap();
//! // Allowed: under an allowed prefix.
//! assert!(list.permits("https://hooks.example.com/a2a/task-1"));
//! // Denied: another host, another scheme, a path outside the prefix, a userinfo trick.
//! assert!(!list.permits("https://evil.example.com/a2a/x"));
//! assert!(!list.permits("http://hooks.example.com/a2a/x"));
//! assert!(!list.permits("https://hooks.example.com/admin"));
//! assert!(!list.permits("https://hooks.example.com@evil.com/a2a/x"));
//! ```

use http::Uri;

/// URL prefixes a webhook must fall under.
#[derive(Debug, Clone, Default)]
pub struct WebhookAllowList {
    prefixes: Vec<Uri>,
}

/// A prefix that is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an absolute http or https URL")]
pub struct InvalidPrefix(pub String);

fn parse(url: &str) -> Option<Uri> {
    let uri: Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    if authority.as_str().contains('@') || !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    Some(uri)
}

impl WebhookAllowList {
    /// The empty list: every webhook is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows webhooks whose scheme and authority equal `prefix`'s and whose path starts with its path.
    pub fn allow(mut self, prefix: &str) -> Result<Self, InvalidPrefix> {
        self.prefixes
            .push(parse(prefix).ok_or_else(|| InvalidPrefix(prefix.to_owned()))?);
        Ok(self)
    }

    /// Whether `url` is allowed.
    pub fn permits(&self, url: &str) -> bool {
        let Some(uri) = parse(url) else { return false };
        self.prefixes.iter().any(|p| {
            p.scheme_str() == uri.scheme_str()
                && p.authority().map(|a| a.as_str().to_ascii_lowercase())
                    == uri.authority().map(|a| a.as_str().to_ascii_lowercase())
                && uri.path().starts_with(p.path())
                && !uri.path().contains("/../")
        })
    }
}
