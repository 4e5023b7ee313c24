//! Where a guardrail applies (protocols, callers, targets) and whether its blocks are enforced
//! or only reported.

use agent_gateway_core::content::TextFilter;
use agent_gateway_core::{AgentRequest, AgentResponse, Caller};

use super::verdict::{Exchange, Guardrail, Verdict};
use crate::glob::Glob;

/// Whether a guardrail's blocks are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// A block refuses the request or response (the default: fail closed).
    #[default]
    Enforce,
    /// A block is logged at warn level and counted, and the content passes. Rewrites still
    /// apply: they are the guardrail's own action, chosen per rule.
    Warn,
}

/// Which exchanges a guardrail applies to. Each list left empty matches everything; a pattern
/// is a glob where `*` matches any run of characters.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    protocols: Vec<String>,
    callers: Vec<Glob>,
    targets: Vec<Glob>,
}

impl Scope {
    /// A scope matching every exchange.
    pub fn all() -> Self {
        Scope::default()
    }

    /// Only these protocols (`"mcp"`, `"a2a"`, `"llm"`).
    pub fn with_protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Only callers whose subject matches one of `patterns` (a request with no caller matches
    /// the subject `"anonymous"`).
    pub fn with_callers<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.callers = patterns
            .into_iter()
            .map(|p| Glob::new(p.as_ref()))
            .collect();
        self
    }

    /// Only targets (tool, agent, model) matching one of `patterns`; a request with no target
    /// matches the empty string.
    pub fn with_targets<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.targets = patterns
            .into_iter()
            .map(|p| Glob::new(p.as_ref()))
            .collect();
        self
    }

    /// Whether an exchange of `protocol` by `caller` on `target` is in scope.
    pub fn matches(&self, protocol: &str, caller: Option<&Caller>, target: Option<&str>) -> bool {
        let subject = caller.map_or("anonymous", Caller::subject);
        let target = target.unwrap_or("");
        (self.protocols.is_empty() || self.protocols.iter().any(|p| p == protocol))
            && (self.callers.is_empty() || self.callers.iter().any(|g| g.matches(subject)))
            && (self.targets.is_empty() || self.targets.iter().any(|g| g.matches(target)))
    }

    fn matches_exchange(&self, exchange: &Exchange) -> bool {
        self.matches(exchange.protocol(), exchange.caller(), exchange.target())
    }
}

/// A guardrail limited to a [`Scope`] and run in a [`Mode`].
///
/// A listing (a `tools/list`, say) has no target, so a target scope does not keep a listing
/// from a guardrail that learns from it (schema checks, pinning); the guardrail then sees
/// every listed item.
#[derive(Debug, Clone)]
pub struct Scoped<G> {
    inner: G,
    scope: Scope,
    mode: Mode,
    id: String,
}

impl<G> Scoped<G> {
    /// `inner`, named `id` in logs, applying everywhere and enforced.
    pub fn new(id: impl Into<String>, inner: G) -> Self {
        Scoped {
            inner,
            scope: Scope::all(),
            mode: Mode::Enforce,
            id: id.into(),
        }
    }

    /// Limits it to `scope`.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Runs it in `mode`.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The guardrail wrapped.
    pub fn get_ref(&self) -> &G {
        &self.inner
    }

    fn in_scope(&self, exchange: &Exchange) -> bool {
        if exchange.action().is_listing() {
            let target_free = Scope {
                targets: Vec::new(),
                ..self.scope.clone()
            };
            return target_free.matches_exchange(exchange);
        }
        self.scope.matches_exchange(exchange)
    }

    /// Whether `request` is in scope: a listing is whatever its target (see [`Scoped`]).
    fn request_in_scope(&self, request: &dyn AgentRequest) -> bool {
        let target = if request.action().is_listing() {
            None
        } else {
            request.target()
        };
        let scope = &self.scope;
        if target.is_none() && request.action().is_listing() && !scope.targets.is_empty() {
            let target_free = Scope {
                targets: Vec::new(),
                ..scope.clone()
            };
            return target_free.matches(request.protocol(), request.caller(), None);
        }
        scope.matches(request.protocol(), request.caller(), target)
    }

    fn apply_mode(&self, verdict: Verdict) -> Verdict {
        match (verdict, self.mode) {
            (Verdict::Block(block), Mode::Warn) => {
                tracing::warn!(
                    guardrail = %self.id,
                    rule = block.rule_id(),
                    "guardrail: would block (warn mode)"
                );
                Verdict::Pass
            }
            (verdict, _) => verdict,
        }
    }
}

impl<G: Guardrail> Guardrail for Scoped<G> {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        if !self.request_in_scope(request) {
            return Verdict::Pass;
        }
        self.apply_mode(self.inner.on_request(request))
    }

    fn watches(&self, request: &dyn AgentRequest) -> bool {
        self.request_in_scope(request) && self.inner.watches(request)
    }

    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if !self.in_scope(exchange) {
            return Verdict::Pass;
        }
        self.apply_mode(self.inner.on_response(exchange, response))
    }

    fn prepare(&self, request: &dyn AgentRequest, exchange: &mut Exchange) {
        if self.request_in_scope(request) {
            self.inner.prepare(request, exchange);
        }
    }

    fn text_filter(&self, exchange: &Exchange) -> Option<Box<dyn TextFilter>> {
        // A filter's blocks happen inside the stream; warn mode cannot undo them, so a filter
        // is only handed out in scope (its own rules decide redact versus block).
        self.in_scope(exchange)
            .then(|| self.inner.text_filter(exchange))
            .flatten()
    }
}
