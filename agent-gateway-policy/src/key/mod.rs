//! Key extractors: which counter a request is charged to, chosen by any part of the request.
//!
//! ```
//! use std::num::NonZeroU64;
//! use agent_gateway_core::{Action, Call, Caller, Denied, Usage};
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_policy::key::{CallerId, Target};
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // One call per minute for each (caller, tool) pair.
//! let rate = Rate::per_minute(NonZeroU64::new(1).unwrap());
//! let layer = QuotaLayer::new(MemoryStore::new())
//!     .with_limit(Limit::requests("per-tool", (CallerId, Target), rate));
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, Denied>(Reply::with_usage(json!({}), Usage::step())));
//! let call = |tool: &str| {
//!     Call::new(Action::ToolCall, json!({})).with_target(tool).with_caller(Caller::new("alice"))
//! };
//! let svc = || ServiceBuilder::new().layer(layer.clone()).service(upstream.clone());
//!
//! assert!(svc().oneshot(call("fs.read")).await.is_ok());
//! assert!(svc().oneshot(call("fs.write")).await.is_ok()); // another key
//! let err = svc().oneshot(call("fs.read")).await.unwrap_err();
//! assert!(Denied::find(err.as_ref()).unwrap().retry_after().is_some());
//! assert_eq!(upstream.calls(), 2);
//! # }
//! ```
//!
//! # Requests without a key
//!
//! A key built from the caller cannot be built for a request that has none (no auth layer ran,
//! or auth is optional), and a team or tenant key cannot be built for a caller outside any team
//! or tenant. Such a request is **denied** by default ([`MissingKey::Deny`]): a limit that quietly
//! stops applying whenever its key is missing is a limit anyone can walk around, for example by
//! presenting no credential at all. A limit that really is meant only for requests that have the
//! key (a per-team limit next to a per-caller one) says so with [`MissingKey::Skip`].
//!
//! # Composite keys
//!
//! Tuples and [`Compose`] join the parts with `:`, escaping `%` and `:` inside each part, so that
//! two different pairs can never produce the same key (`("a:b", "c")` and `("a", "b:c")` stay
//! apart). A composite key is missing when any of its parts is.
//!
//! # Who "the caller" is
//!
//! [`CallerId`] (part name `caller`) keys on
//! [`Caller::principal_id`](agent_gateway_core::Caller::principal_id): authenticator, issuer,
//! tenant and subject. A JWT whose `sub` is `demo` and the API key whose subject is `demo` are
//! two callers with two counters, and so are two issuers' overlapping subjects. Use it for
//! every per-caller limit. [`Subject`] (part name `subject`) keys on the subject string alone,
//! **shared by every authenticator and issuer**: use it only when several credentials really
//! are one party.
//!
//! # Bounded keys
//!
//! Key parts can come from clients: a target is whatever tool, model or agent name a request
//! names, and it is counted before any router refuses an unknown name. Every part longer than
//! [`MAX_PART_LEN`] bytes is replaced by a fixed-length digest of itself (`#` and 32 hex
//! digits of its SHA-256), so a store key is at most a few hundred bytes however long the
//! request's strings are. Distinct long parts keep distinct keys (up to a 128-bit collision).

use std::fmt;
use std::str::FromStr;

use agent_gateway_core::AgentRequest;
use sha2::{Digest, Sha256};

/// The longest key part kept as it is; a longer one is replaced by its digest. Long enough for
/// any real tool, model, agent or principal name, short enough that a store key made of a few
/// parts stays well under a kilobyte.
pub const MAX_PART_LEN: usize = 128;

/// The longest whole key a layer keeps as it is (a custom extractor's key, say); a longer one
/// is replaced by its digest, as a long part is.
pub const MAX_KEY_LEN: usize = 1024;

/// `part` itself when it is at most [`MAX_PART_LEN`] bytes, else `#` and the first 16 bytes of
/// its SHA-256 in hex: bounded, and still distinct for distinct parts.
///
/// ```
/// use agent_gateway_policy::key::{MAX_PART_LEN, bounded_part};
///
/// assert_eq!(bounded_part("fs.read".to_owned()), "fs.read");
/// let long = bounded_part("x".repeat(1 << 20));
/// assert!(long.starts_with('#') && long.len() <= MAX_PART_LEN);
/// assert_ne!(long, bounded_part("y".repeat(1 << 20)));
/// ```
pub fn bounded_part(part: String) -> String {
    bounded(part, MAX_PART_LEN)
}

fn bounded(part: String, max: usize) -> String {
    if part.len() <= max {
        return part;
    }
    let digest = Sha256::digest(part.as_bytes());
    let mut out = String::with_capacity(33);
    out.push('#');
    for byte in &digest[..16] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Extracts the key a request is counted under, or `None` when the request has none.
///
/// Implemented by the ready-made extractors of this module, by tuples and [`Compose`] of them,
/// and by any closure `Fn(&dyn AgentRequest) -> Option<String>`. It reads the request through
/// the seam only, so one extractor (and one layer holding it) serves every protocol.
pub trait KeyFn: Send + Sync {
    /// The key for `req`, or `None` if it cannot be extracted.
    fn key(&self, req: &dyn AgentRequest) -> Option<String>;
}

impl<F> KeyFn for F
where
    F: Fn(&dyn AgentRequest) -> Option<String> + Send + Sync,
{
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        self(req)
    }
}

/// What a limit does with a request whose key cannot be extracted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissingKey {
    /// Refuse the request (the default): fail closed.
    #[default]
    Deny,
    /// Let the request through without applying this limit.
    Skip,
}

/// The caller, by its [`principal_id`](agent_gateway_core::Caller::principal_id)
/// (authenticator, issuer, tenant, subject): the key for per-caller limits. Missing when there
/// is no caller.
///
/// Two authenticators (or two issuers) that know the same subject name are two callers here.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerId;

/// The caller's bare subject string, **shared across authenticators and issuers**: a JWT with
/// `sub: "demo"` and the API key whose subject is `demo` count as one. Missing when there is
/// no caller. Prefer [`CallerId`] unless several credentials really are one party.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject;

/// The caller's team. Missing when there is no caller, or it has no team.
#[derive(Debug, Clone, Copy, Default)]
pub struct Team;

/// The caller's tenant. Missing when there is no caller, or it has no tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tenant;

/// The request's target: a tool, an agent or a model alias. Missing when it has none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target;

/// The request's action, by its stable name (`tool_call`, `model_call`, ...). Never missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActionName;

/// One key shared by every request: a global limit. Never missing.
#[derive(Debug, Clone, Copy)]
pub struct Global(pub &'static str);

impl KeyFn for CallerId {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller()
            .map(|c| bounded_part(c.principal_id().to_owned()))
    }
}

impl KeyFn for Subject {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller().map(|c| bounded_part(c.subject().to_owned()))
    }
}

impl KeyFn for Team {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller()
            .and_then(|c| c.team())
            .map(|t| bounded_part(t.to_owned()))
    }
}

impl KeyFn for Tenant {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller()
            .and_then(|c| c.tenant())
            .map(|t| bounded_part(t.to_owned()))
    }
}

impl KeyFn for Target {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.target().map(|t| bounded_part(t.to_owned()))
    }
}

impl KeyFn for ActionName {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        Some(req.action().as_str().to_owned())
    }
}

impl KeyFn for Global {
    fn key(&self, _req: &dyn AgentRequest) -> Option<String> {
        Some(self.0.to_owned())
    }
}

/// One of the ready-made extractors, chosen by name at run time (from a config file, say),
/// to build a [`Join`].
///
/// ```
/// use agent_gateway_core::{Action, Call, Caller};
/// use agent_gateway_policy::key::{Join, KeyFn, Part};
/// use serde_json::json;
///
/// let parts: Vec<Part> = "caller+action".split('+').map(str::parse).collect::<Result<_, _>>().unwrap();
/// let key = parts.into_iter().fold(Join::new(), Join::with);
/// let call = Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("ann"));
/// // The caller part is its principal id, escaped: `custom` (its authenticator), no issuer, no tenant, `ann`.
/// assert_eq!(key.key(&call).as_deref(), Some("custom%3A%3A%3Aann:tool_call"));
/// assert!("colour".parse::<Part>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// [`CallerId`]: the caller's principal id (`caller`).
    Caller,
    /// [`Subject`]: the bare subject, shared across authenticators (`subject`).
    Subject,
    /// [`Team`].
    Team,
    /// [`Tenant`].
    Tenant,
    /// [`Target`].
    Target,
    /// [`ActionName`].
    Action,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 6] = [
        Part::Caller,
        Part::Subject,
        Part::Team,
        Part::Tenant,
        Part::Target,
        Part::Action,
    ];

    /// The part's name: `caller`, `subject`, `team`, `tenant`, `target`, `action`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Part::Caller => "caller",
            Part::Subject => "subject",
            Part::Team => "team",
            Part::Tenant => "tenant",
            Part::Target => "target",
            Part::Action => "action",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown key part name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key part `{0}` (caller, subject, team, tenant, target or action)")]
pub struct UnknownPart(String);

impl FromStr for Part {
    type Err = UnknownPart;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Part::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPart(s.to_owned()))
    }
}

impl KeyFn for Part {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        match self {
            Part::Caller => CallerId.key(req),
            Part::Subject => Subject.key(req),
            Part::Team => Team.key(req),
            Part::Tenant => Tenant.key(req),
            Part::Target => Target.key(req),
            Part::Action => ActionName.key(req),
        }
    }
}

/// Two extractors combined into one key: both parts must be present.
///
/// The same as the tuple `(A, B)`, as a named type for use in signatures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compose<A, B>(pub A, pub B);

impl<A: KeyFn, B: KeyFn> KeyFn for Compose<A, B> {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        join(vec![self.0.key(req)?, self.1.key(req)?])
    }
}

impl<A: KeyFn, B: KeyFn> KeyFn for (A, B) {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        join(vec![self.0.key(req)?, self.1.key(req)?])
    }
}

impl<A: KeyFn, B: KeyFn, C: KeyFn> KeyFn for (A, B, C) {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        join(vec![self.0.key(req)?, self.1.key(req)?, self.2.key(req)?])
    }
}

/// Any number of extractors, chosen at run time (from a config file, say), combined into one
/// key: every part must be present.
///
/// ```
/// use agent_gateway_core::{Action, Call, Caller};
/// use agent_gateway_policy::key::{CallerId, Join, KeyFn, Target};
/// use serde_json::json;
///
/// let key = Join::new().with(CallerId).with(Target);
/// let call = Call::new(Action::ToolCall, json!({})).with_target("fs.read");
/// assert_eq!(key.key(&call), None); // no caller: no key
/// let call = call.with_caller(Caller::new("alice"));
/// assert_eq!(key.key(&call).as_deref(), Some("custom%3A%3A%3Aalice:fs.read"));
/// ```
pub struct Join {
    parts: Vec<Box<dyn KeyFn>>,
}

impl Join {
    /// No parts yet.
    pub fn new() -> Self {
        Join { parts: Vec::new() }
    }

    /// Adds a part.
    pub fn with(mut self, part: impl KeyFn + 'static) -> Self {
        self.parts.push(Box::new(part));
        self
    }

    /// How many parts.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether there are no parts.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

impl Default for Join {
    fn default() -> Self {
        Join::new()
    }
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl KeyFn for Join {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        let parts = self
            .parts
            .iter()
            .map(|p| p.key(req))
            .collect::<Option<Vec<_>>>()?;
        join(parts)
    }
}

/// Joins escaped parts with `:`. Always `Some`, for use after `?` on the parts.
fn join(parts: Vec<String>) -> Option<String> {
    let mut out = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        escape_into(&mut out, &bounded_part(part));
    }
    Some(out)
}

/// Appends `part` with `%` and `:` percent-escaped.
pub(crate) fn escape_into(out: &mut String, part: &str) {
    for ch in part.chars() {
        match ch {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            _ => out.push(ch),
        }
    }
}

/// A key extractor behind a trait object, as the layers keep them.
#[derive(Clone)]
pub(crate) struct SharedKey(pub(crate) std::sync::Arc<dyn KeyFn>);

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFn")
    }
}

impl SharedKey {
    pub(crate) fn new(key: impl KeyFn + 'static) -> Self {
        SharedKey(std::sync::Arc::new(key))
    }

    /// The key, at most [`MAX_KEY_LEN`] bytes whatever the extractor returned.
    pub(crate) fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        self.0.key(req).map(|key| bounded(key, MAX_KEY_LEN))
    }
}

#[cfg(test)]
mod tests;
