//! [`PolicyHeaders`]: the HTTP response headers the policy layers add to a call's answer
//! (a run's loop warning, a guardrail's flag), which every protocol front writes on the
//! response it sends.
//!
//! The front puts one [`PolicyHeaders`] in the request's extensions before the policy stack
//! sees the request, and copies it onto the HTTP response when it writes the response's head.
//! A layer adds to it while it decides (at admission) or when the response passes back; clones
//! share one set, so whatever was added before the head goes out is on it. For a stream the
//! head goes out before the first byte, so a streamed answer carries what was known at
//! admission. An error answer carries the headers too (a warned call that a later layer
//! refused still says so).
//!
//! Only names starting with [`POLICY_HEADER_PREFIX`] (`agw-`) can be added, through the
//! checked [`PolicyHeaderName`]: a layer can never set or overwrite a hop, content or
//! authentication header this way. A policy header replaces a header of the same name the
//! answer already had (an upstream cannot speak in the gateway's name).
//!
//! ```
//! use agent_gateway_core::response::{PolicyHeaderName, PolicyHeaders};
//!
//! const WARNING: PolicyHeaderName = PolicyHeaderName::from_static("agw-example-warning");
//!
//! let mut req = http::Request::new(());
//! // The front attaches the set before the policy stack runs...
//! let notes = PolicyHeaders::attach(req.extensions_mut());
//! // ...a layer finds it on the request and warns under two rules...
//! let seen = req.extensions().get::<PolicyHeaders>().unwrap();
//! seen.warn(&WARNING, "loop.tool");
//! seen.warn(&WARNING, "loop.model");
//! seen.warn(&WARNING, "loop.tool"); // named once
//! // ...and the front writes them on the response.
//! let mut res = http::Response::new(());
//! res.headers_mut().insert("agw-example-warning", "forged".parse().unwrap());
//! notes.copy_to(res.headers_mut());
//! assert_eq!(res.headers()["agw-example-warning"], "loop.tool, loop.model");
//! assert_eq!(notes.warnings(), ["loop.tool", "loop.model"]);
//!
//! // Anything but an `agw-` name is refused.
//! assert!(PolicyHeaderName::new(http::header::AUTHORIZATION).is_err());
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{Extensions, HeaderMap, HeaderName, HeaderValue};

/// The prefix every policy header's name starts with.
pub const POLICY_HEADER_PREFIX: &str = "agw-";

/// A response header name a policy layer may set: one starting with [`POLICY_HEADER_PREFIX`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PolicyHeaderName(HeaderName);

/// The error for a header name a policy layer may not set (it does not start with `agw-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a policy header's name starts with `agw-`: {0}")]
pub struct NotPolicyHeader(HeaderName);

const fn has_prefix(name: &str) -> bool {
    let (name, prefix) = (name.as_bytes(), POLICY_HEADER_PREFIX.as_bytes());
    if name.len() <= prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if name[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl PolicyHeaderName {
    /// The name `name`, checked when the constant is built.
    ///
    /// # Panics
    ///
    /// When `name` is not a valid lower-case header name, or does not start with `agw-` (at
    /// compile time, in a `const`).
    pub const fn from_static(name: &'static str) -> Self {
        assert!(
            has_prefix(name),
            "a policy header's name starts with `agw-`"
        );
        PolicyHeaderName(HeaderName::from_static(name))
    }

    /// `name`, if it starts with `agw-`.
    pub fn new(name: HeaderName) -> Result<Self, NotPolicyHeader> {
        match has_prefix(name.as_str()) {
            true => Ok(PolicyHeaderName(name)),
            false => Err(NotPolicyHeader(name)),
        }
    }

    /// The header name.
    pub fn as_header_name(&self) -> &HeaderName {
        &self.0
    }
}

impl fmt::Debug for PolicyHeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

#[derive(Default)]
struct Inner {
    headers: Vec<(HeaderName, HeaderValue)>,
    warnings: Vec<Box<str>>,
}

/// The response headers the policy layers add to one call's answer; see the
/// [module docs](self). Clones share one set.
#[derive(Clone, Default)]
pub struct PolicyHeaders(Arc<Mutex<Inner>>);

impl PolicyHeaders {
    /// An empty set.
    pub fn new() -> Self {
        PolicyHeaders::default()
    }

    /// The set in `extensions`, put there first if there is none: what a front calls before
    /// the policy stack, and a layer that wants to read the set afterwards (the audit layer).
    pub fn attach(extensions: &mut Extensions) -> PolicyHeaders {
        extensions.get_or_insert_default::<PolicyHeaders>().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding it; a poisoned set is still a whole set.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `name` to `value`, replacing what the set had under that name.
    pub fn insert(&self, name: &PolicyHeaderName, value: HeaderValue) {
        let mut inner = self.lock();
        match inner.headers.iter_mut().find(|(n, _)| *n == name.0) {
            Some((_, v)) => *v = value,
            None => inner.headers.push((name.0.clone(), value)),
        }
    }

    /// Records a warning under `rule` and adds the rule id to the comma-separated list in the
    /// header `name` (`agw-run-warning: run.loop.tool, run.loop.model`). A rule already listed
    /// is not listed again; a rule id that is not a valid header value is recorded, not
    /// listed.
    pub fn warn(&self, name: &PolicyHeaderName, rule: &str) {
        let mut inner = self.lock();
        if !inner.warnings.iter().any(|w| &**w == rule) {
            inner.warnings.push(rule.into());
        }
        let Some(index) = inner.headers.iter().position(|(n, _)| *n == name.0) else {
            if let Ok(value) = HeaderValue::from_str(rule) {
                inner.headers.push((name.0.clone(), value));
            }
            return;
        };
        let value = &inner.headers[index].1;
        let listed = value
            .to_str()
            .is_ok_and(|v| v.split(", ").any(|r| r == rule));
        if listed {
            return;
        }
        let mut joined = value.as_bytes().to_vec();
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(rule.as_bytes());
        if let Ok(value) = HeaderValue::from_bytes(&joined) {
            inner.headers[index].1 = value;
        }
    }

    /// The value set under `name`, if any.
    pub fn get(&self, name: &str) -> Option<HeaderValue> {
        let inner = self.lock();
        let (_, value) = inner.headers.iter().find(|(n, _)| n.as_str() == name)?;
        Some(value.clone())
    }

    /// The rule ids warned under, in the order first warned (for the audit record).
    pub fn warnings(&self) -> Vec<String> {
        self.lock().warnings.iter().map(|w| w.to_string()).collect()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        let inner = self.lock();
        inner.headers.is_empty() && inner.warnings.is_empty()
    }

    /// Writes the set onto a response's `headers`, each replacing a header of the same name.
    pub fn copy_to(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.lock().headers {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// Writes the set of `extensions` (a request's, if a front attached one) onto `headers`.
    pub fn copy_from(extensions: &Extensions, headers: &mut HeaderMap) {
        if let Some(set) = extensions.get::<PolicyHeaders>() {
            set.copy_to(headers);
        }
    }
}

impl fmt::Debug for PolicyHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("PolicyHeaders")
            .field("headers", &inner.headers)
            .field("warnings", &inner.warnings)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: PolicyHeaderName = PolicyHeaderName::from_static("agw-w");

    #[test]
    fn only_agw_names_and_insert_replaces() {
        assert!(PolicyHeaderName::new(HeaderName::from_static("agw-")).is_err());
        assert!(PolicyHeaderName::new(HeaderName::from_static("set-cookie")).is_err());
        assert!(PolicyHeaderName::new(HeaderName::from_static("agw-x")).is_ok());
        let set = PolicyHeaders::new();
        assert!(set.is_empty());
        set.insert(&W, HeaderValue::from_static("1"));
        set.insert(&W, HeaderValue::from_static("2"));
        let mut headers = HeaderMap::new();
        set.copy_to(&mut headers);
        assert_eq!(headers.get_all("agw-w").iter().count(), 1);
        assert_eq!(headers["agw-w"], "2");
        assert!(set.warnings().is_empty());
    }

    #[test]
    fn a_rule_that_is_no_header_value_is_recorded_not_listed() {
        let set = PolicyHeaders::new();
        set.warn(&W, "bad\nrule");
        assert_eq!(set.get("agw-w"), None);
        set.warn(&W, "a");
        set.warn(&W, "bad\nrule");
        assert_eq!(set.get("agw-w").unwrap(), "a");
        assert_eq!(set.warnings(), ["bad\nrule", "a"]);
    }
}
