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

use agent_gateway_core::AgentRequest;

/// Extracts the key a request is counted under, or `None` when the request has none.
///
/// Implemented by the ready-made extractors of this module, by tuples and [`Compose`] of them,
/// and by any closure `Fn(&R) -> Option<String>`.
pub trait KeyFn<R>: Send + Sync {
    /// The key for `req`, or `None` if it cannot be extracted.
    fn key(&self, req: &R) -> Option<String>;
}

impl<R, F> KeyFn<R> for F
where
    F: Fn(&R) -> Option<String> + Send + Sync,
{
    fn key(&self, req: &R) -> Option<String> {
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

impl<R: AgentRequest> KeyFn<R> for Subject {
    fn key(&self, req: &R) -> Option<String> {
        req.caller().map(|c| c.subject().to_owned())
    }
}

impl<R: AgentRequest> KeyFn<R> for Team {
    fn key(&self, req: &R) -> Option<String> {
        req.caller().and_then(|c| c.team()).map(str::to_owned)
    }
}

impl<R: AgentRequest> KeyFn<R> for Tenant {
    fn key(&self, req: &R) -> Option<String> {
        req.caller().and_then(|c| c.tenant()).map(str::to_owned)
    }
}

impl<R: AgentRequest> KeyFn<R> for Target {
    fn key(&self, req: &R) -> Option<String> {
        req.target().map(str::to_owned)
    }
}

impl<R: AgentRequest> KeyFn<R> for ActionName {
    fn key(&self, req: &R) -> Option<String> {
        Some(req.action().as_str().to_owned())
    }
}

impl<R> KeyFn<R> for Global {
    fn key(&self, _req: &R) -> Option<String> {
        Some(self.0.to_owned())
    }
}

/// Two extractors combined into one key: both parts must be present.
///
/// The same as the tuple `(A, B)`, as a named type for use in signatures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compose<A, B>(pub A, pub B);

impl<R, A: KeyFn<R>, B: KeyFn<R>> KeyFn<R> for Compose<A, B> {
    fn key(&self, req: &R) -> Option<String> {
        join(&[self.0.key(req)?, self.1.key(req)?])
    }
}

impl<R, A: KeyFn<R>, B: KeyFn<R>> KeyFn<R> for (A, B) {
    fn key(&self, req: &R) -> Option<String> {
        join(&[self.0.key(req)?, self.1.key(req)?])
    }
}

impl<R, A: KeyFn<R>, B: KeyFn<R>, C: KeyFn<R>> KeyFn<R> for (A, B, C) {
    fn key(&self, req: &R) -> Option<String> {
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
pub struct Join<R> {
    parts: Vec<Box<dyn KeyFn<R>>>,
}

impl<R> Join<R> {
    /// No parts yet.
    pub fn new() -> Self {
        Join { parts: Vec::new() }
    }

    /// Adds a part.
    pub fn with(mut self, part: impl KeyFn<R> + 'static) -> Self {
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

impl<R> Default for Join<R> {
    fn default() -> Self {
        Join::new()
    }
}

impl<R> fmt::Debug for Join<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("parts", &self.parts.len())
            .finish()
    }
}

impl<R> KeyFn<R> for Join<R> {
    fn key(&self, req: &R) -> Option<String> {
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
pub(crate) struct SharedKey<R>(pub(crate) std::sync::Arc<dyn KeyFn<R>>);

impl<R> Clone for SharedKey<R> {
    fn clone(&self) -> Self {
        SharedKey(self.0.clone())
    }
}

impl<R> fmt::Debug for SharedKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFn")
    }
}

impl<R> SharedKey<R> {
    pub(crate) fn new(key: impl KeyFn<R> + 'static) -> Self {
        SharedKey(std::sync::Arc::new(key))
    }

    pub(crate) fn key(&self, req: &R) -> Option<String> {
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

        let a = |_: &Call| Some("a:b".to_owned());
        let b = |_: &Call| Some("c".to_owned());
        let c = |_: &Call| Some("a".to_owned());
        let d = |_: &Call| Some("b:c".to_owned());
        assert_ne!((a, b).key(&req), (c, d).key(&req));
        let pct = |_: &Call| Some("50%".to_owned());
        assert_eq!((pct, Global("x")).key(&req).as_deref(), Some("50%25:x"));
    }

    #[test]
    fn closures_are_extractors() {
        let by_arg = |req: &Call<bool>| req.payload().then(|| "flagged".to_owned());
        let req = call().with_payload(true);
        assert_eq!(by_arg.key(&req).as_deref(), Some("flagged"));
        assert_eq!(by_arg.key(&call().with_payload(false)), None);
    }
}
