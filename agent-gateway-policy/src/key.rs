//! Key extractors: which counter a request is charged to, chosen by any part of the request.
//!
//! ```
//! use std::num::NonZeroU64;
//! use agent_gateway_core::{Action, Call, Caller, Denied, Usage};
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_policy::key::{Subject, Target};
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // One call per minute for each (caller, tool) pair.
//! let rate = Rate::per_minute(NonZeroU64::new(1).unwrap());
//! let layer = QuotaLayer::new(MemoryStore::new())
//!     .with_limit(Limit::requests("per-tool", (Subject, Target), rate));
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

use std::fmt;
use std::str::FromStr;

use agent_gateway_core::AgentRequest;

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

/// The caller's subject. Missing when there is no caller.
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

impl KeyFn for Subject {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller().map(|c| c.subject().to_owned())
    }
}

impl KeyFn for Team {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller().and_then(|c| c.team()).map(str::to_owned)
    }
}

impl KeyFn for Tenant {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.caller().and_then(|c| c.tenant()).map(str::to_owned)
    }
}

impl KeyFn for Target {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        req.target().map(str::to_owned)
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
/// let parts: Vec<Part> = "subject+action".split('+').map(str::parse).collect::<Result<_, _>>().unwrap();
/// let key = parts.into_iter().fold(Join::new(), Join::with);
/// let call = Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("ann"));
/// assert_eq!(key.key(&call).as_deref(), Some("ann:tool_call"));
/// assert!("colour".parse::<Part>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// [`Subject`].
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
    pub const ALL: [Part; 5] = [
        Part::Subject,
        Part::Team,
        Part::Tenant,
        Part::Target,
        Part::Action,
    ];

    /// The part's name: `subject`, `team`, `tenant`, `target`, `action`.
    pub const fn as_str(self) -> &'static str {
        match self {
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
#[error("unknown key part `{0}` (subject, team, tenant, target or action)")]
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
        join(&[self.0.key(req)?, self.1.key(req)?])
    }
}

impl<A: KeyFn, B: KeyFn> KeyFn for (A, B) {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        join(&[self.0.key(req)?, self.1.key(req)?])
    }
}

impl<A: KeyFn, B: KeyFn, C: KeyFn> KeyFn for (A, B, C) {
    fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        join(&[self.0.key(req)?, self.1.key(req)?, self.2.key(req)?])
    }
}

/// Any number of extractors, chosen at run time (from a config file, say), combined into one
/// key: every part must be present.
///
/// ```
/// use agent_gateway_core::{Action, Call, Caller};
/// use agent_gateway_policy::key::{Join, KeyFn, Subject, Target};
/// use serde_json::json;
///
/// let key = Join::new().with(Subject).with(Target);
/// let call = Call::new(Action::ToolCall, json!({})).with_target("fs.read");
/// assert_eq!(key.key(&call), None); // no caller: no key
/// let call = call.with_caller(Caller::new("alice"));
/// assert_eq!(key.key(&call).as_deref(), Some("alice:fs.read"));
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
        join(&parts)
    }
}

/// Joins escaped parts with `:`. Always `Some`, for use after `?` on the parts.
fn join(parts: &[String]) -> Option<String> {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        escape_into(&mut out, part);
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

    pub(crate) fn key(&self, req: &dyn AgentRequest) -> Option<String> {
        self.0.key(req)
    }
}

#[cfg(test)]
mod tests {
    use agent_gateway_core::{Action, Call, Caller};
    use serde_json::json;

    use super::*;

    fn call() -> Call {
        Call::new(Action::ModelCall, json!({})).with_target("gpt:fast")
    }

    fn alice() -> Caller {
        Caller::new("alice")
            .with_team("billing")
            .with_tenant("acme")
    }

    #[test]
    fn caller_keys_are_missing_without_a_caller() {
        let anonymous = call();
        assert_eq!(Subject.key(&anonymous), None);
        assert_eq!(Team.key(&anonymous), None);
        assert_eq!(Tenant.key(&anonymous), None);
        let known = call().with_caller(alice());
        assert_eq!(Subject.key(&known).as_deref(), Some("alice"));
        assert_eq!(Team.key(&known).as_deref(), Some("billing"));
        assert_eq!(Tenant.key(&known).as_deref(), Some("acme"));
        let teamless = call().with_caller(Caller::new("bob"));
        assert_eq!(Team.key(&teamless), None);
    }

    #[test]
    fn request_keys() {
        let req = call();
        assert_eq!(Target.key(&req).as_deref(), Some("gpt:fast"));
        assert_eq!(ActionName.key(&req).as_deref(), Some("model_call"));
        assert_eq!(Global("all").key(&req).as_deref(), Some("all"));
        let untargeted = Call::new(Action::ListTools, json!({}));
        assert_eq!(Target.key(&untargeted), None);
    }

    #[test]
    fn composites_escape_their_parts_and_need_every_part() {
        let req = call().with_caller(alice());
        assert_eq!(
            (Subject, Target).key(&req).as_deref(),
            Some("alice:gpt%3Afast")
        );
        assert_eq!(
            Compose(Tenant, ActionName).key(&req).as_deref(),
            Some("acme:model_call")
        );
        assert_eq!(
            (Tenant, Team, Subject).key(&req).as_deref(),
            Some("acme:billing:alice")
        );
        assert_eq!((Subject, Target).key(&call()), None);

        let a = |_: &dyn AgentRequest| Some("a:b".to_owned());
        let b = |_: &dyn AgentRequest| Some("c".to_owned());
        let c = |_: &dyn AgentRequest| Some("a".to_owned());
        let d = |_: &dyn AgentRequest| Some("b:c".to_owned());
        assert_ne!((a, b).key(&req), (c, d).key(&req));
        let pct = |_: &dyn AgentRequest| Some("50%".to_owned());
        assert_eq!((pct, Global("x")).key(&req).as_deref(), Some("50%25:x"));
    }

    #[test]
    fn closures_are_extractors() {
        let by_arg = |req: &dyn AgentRequest| {
            let flagged = req.arguments().and_then(|a| a["flag"].as_bool());
            flagged.unwrap_or(false).then(|| "flagged".to_owned())
        };
        let flagged = Call::new(Action::ModelCall, json!({"flag": true}));
        assert_eq!(by_arg.key(&flagged).as_deref(), Some("flagged"));
        assert_eq!(by_arg.key(&call()), None);
    }
}
