//! Rules, compiled into a [`Policy`], and how a policy decides.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use agent_gateway_core::{AgentRequest, RunId};
use cel::{Context, Env, Program};

use super::context::{Ask, Needs, Subject, bind_ask, subject_scope};
use super::fields::CallerFields;
use crate::glob::Glob;

/// The rule id a denial carries when no rule allowed the request.
pub const DEFAULT_DENY_RULE: &str = "default-deny";

/// What a rule does when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The request may proceed, unless a deny rule matches too.
    Allow,
    /// The request is refused, whatever allow rules say.
    Deny,
}

/// An ordered list of rules, not yet compiled. Build it, then turn it into a [`Policy`] with
/// [`Rules::compile`].
///
/// ```
/// use agent_gateway_policy::authorize::Rules;
///
/// let policy = Rules::new()
///     .allow("readers", r#"action == "tool_call" && "reader" in caller.roles"#)
///     .deny_targets("no-shell", ["shell.*"])
///     .compile()
///     .expect("valid rules");
/// assert_eq!(policy.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rules {
    specs: Vec<Spec>,
}

#[derive(Debug, Clone)]
struct Spec {
    id: String,
    effect: Effect,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Cel(String),
    Targets(Vec<String>),
}

impl Rules {
    /// No rules: a policy compiled from it denies everything.
    pub fn new() -> Self {
        Rules::default()
    }

    /// Adds a rule with `effect` whose `condition` is a CEL expression over the variables of
    /// the [module contract](super).
    pub fn rule(
        mut self,
        id: impl Into<String>,
        effect: Effect,
        condition: impl Into<String>,
    ) -> Self {
        self.specs.push(Spec {
            id: id.into(),
            effect,
            source: Source::Cel(condition.into()),
        });
        self
    }

    /// Adds an allow rule with a CEL `condition`.
    pub fn allow(self, id: impl Into<String>, condition: impl Into<String>) -> Self {
        self.rule(id, Effect::Allow, condition)
    }

    /// Adds a deny rule with a CEL `condition`.
    pub fn deny(self, id: impl Into<String>, condition: impl Into<String>) -> Self {
        self.rule(id, Effect::Deny, condition)
    }

    /// Adds a rule matching any request whose target matches one of `patterns`, whatever the
    /// action and caller. `*` matches any run of characters: `fs.read_*`, `*.delete_*`.
    /// A request without a target matches no pattern, not even `*`.
    pub fn targets<I, P>(mut self, id: impl Into<String>, effect: Effect, patterns: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.specs.push(Spec {
            id: id.into(),
            effect,
            source: Source::Targets(patterns.into_iter().map(Into::into).collect()),
        });
        self
    }

    /// Allows any target matching one of `patterns`; see [`Rules::targets`].
    pub fn allow_targets<I, P>(self, id: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.targets(id, Effect::Allow, patterns)
    }

    /// Denies any target matching one of `patterns`; see [`Rules::targets`].
    pub fn deny_targets<I, P>(self, id: impl Into<String>, patterns: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.targets(id, Effect::Deny, patterns)
    }

    /// Compiles every rule, once. Requests are then only evaluated, never parsed, and a typo in
    /// a rule stops the gateway from starting instead of denying (or worse, allowing) traffic
    /// at run time.
    pub fn compile(self) -> Result<Policy, RuleError> {
        Policy::new(self)
    }
}

/// Why rules did not compile. Every variant names the rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The CEL condition does not parse.
    #[error("rule `{id}`: invalid CEL condition: {source}")]
    Invalid {
        /// The rule's id.
        id: String,
        /// What the CEL parser reported.
        #[source]
        source: cel::ParseErrors,
    },
    /// Two rules share an id, so a denial could not say which one decided.
    #[error("rule id `{id}` is used more than once")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// The id is empty, or the reserved [`DEFAULT_DENY_RULE`].
    #[error("rule id `{id}` is empty or reserved")]
    ReservedId {
        /// The offending id.
        id: String,
    },
    /// A target list with no patterns, which would silently match nothing.
    #[error("rule `{id}` lists no target patterns")]
    NoPatterns {
        /// The rule's id.
        id: String,
    },
}

/// The outcome of evaluating a [`Policy`], naming the rule that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// An allow rule matched and no deny rule did.
    Allow {
        /// The first allow rule that matched.
        rule: &'a str,
    },
    /// A deny rule matched (or failed to evaluate), or no allow rule matched.
    Deny {
        /// The first deny rule that matched, or [`DEFAULT_DENY_RULE`].
        rule: &'a str,
    },
}

impl<'a> Decision<'a> {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The id of the rule that decided.
    pub fn rule(&self) -> &'a str {
        match self {
            Decision::Allow { rule } | Decision::Deny { rule } => rule,
        }
    }
}

/// Compiled rules: deny-overrides, then allow, else deny.
///
/// - **Deny overrides.** If any deny rule matches, the request is denied, whatever the order
///   of the rules. A deny is a guard someone wrote on purpose ("never `fs.delete_*` outside
///   business hours"); a broad allow added later must not quietly undo it.
/// - **Default deny.** If no allow rule matches, the request is denied with
///   [`DEFAULT_DENY_RULE`]. A new tool, agent or model is then unreachable until a rule
///   names it, instead of open to everyone until someone notices.
/// - **Fail closed.** A condition that fails to evaluate (a missing field, a type mismatch, a
///   result that is not a bool) counts as a match for a deny rule and as no match for an allow
///   rule, and is logged at debug level with the rule id. An error can thus only ever deny.
#[derive(Clone)]
pub struct Policy {
    env: Arc<Env>,
    /// Deny rules first, then allow rules, each in the order given.
    rules: Arc<[Rule]>,
    denies: usize,
    needs: Needs,
}

struct Rule {
    id: String,
    condition: Condition,
}

enum Condition {
    Cel(Program),
    Targets(Vec<Glob>),
}

impl Policy {
    /// Compiles `rules`; the same as [`Rules::compile`].
    pub fn new(rules: Rules) -> Result<Self, RuleError> {
        let env = Env::stdlib();
        let mut seen = HashSet::new();
        let mut needs = Needs::default();
        let (mut denies, mut allows) = (Vec::new(), Vec::new());
        for Spec { id, effect, source } in rules.specs {
            if id.is_empty() || id == DEFAULT_DENY_RULE {
                return Err(RuleError::ReservedId { id });
            }
            if !seen.insert(id.clone()) {
                return Err(RuleError::DuplicateId { id });
            }
            let condition = match source {
                Source::Cel(text) => match env.compile(&text) {
                    Ok(program) => {
                        let refs = program.references();
                        needs.caller |= CallerFields::of(program.expression());
                        needs.args |= refs.has_variable("args");
                        Condition::Cel(program)
                    }
                    Err(source) => return Err(RuleError::Invalid { id, source }),
                },
                Source::Targets(patterns) if patterns.is_empty() => {
                    return Err(RuleError::NoPatterns { id });
                }
                Source::Targets(patterns) => {
                    Condition::Targets(patterns.iter().map(|p| Glob::new(p)).collect())
                }
            };
            let rule = Rule { id, condition };
            match effect {
                Effect::Deny => denies.push(rule),
                Effect::Allow => allows.push(rule),
            }
        }
        let denies_len = denies.len();
        denies.extend(allows);
        Ok(Policy {
            env: Arc::new(env),
            rules: denies.into(),
            denies: denies_len,
            needs,
        })
    }

    /// How many rules the policy has.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the policy has no rules, and so denies everything.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides `request`, exactly as [`Authorize`](super::Authorize) does, without calling
    /// anything: for dry runs, explanations and tests.
    pub fn evaluate<R: AgentRequest + ?Sized>(&self, request: &R) -> Decision<'_> {
        let subject = Subject {
            caller: request.caller(),
            protocol: request.protocol(),
            run: request.run_id().map(RunId::as_str),
        };
        let ask = Ask {
            action: request.action(),
            target: request.target(),
            args: request.arguments(),
        };
        let mut ctx = subject_scope(&self.env, self.needs, &subject);
        bind_ask(&mut ctx, self.needs, &ask);
        self.decide(&ctx, ask.target)
    }

    pub(crate) fn env(&self) -> &Arc<Env> {
        &self.env
    }

    pub(crate) fn needs(&self) -> Needs {
        self.needs
    }

    /// Decides with every variable bound in `ctx`; `target` is the one bound there too.
    pub(crate) fn decide(&self, ctx: &Context<'_, '_>, target: Option<&str>) -> Decision<'_> {
        let (denies, allows) = self.rules.split_at(self.denies);
        for rule in denies {
            // An error counts as a match: a broken guard must not open the door.
            if rule.matches(ctx, target).unwrap_or(true) {
                return Decision::Deny { rule: &rule.id };
            }
        }
        for rule in allows {
            // An error counts as no match: only a condition that holds may allow.
            if rule.matches(ctx, target).unwrap_or(false) {
                return Decision::Allow { rule: &rule.id };
            }
        }
        Decision::Deny {
            rule: DEFAULT_DENY_RULE,
        }
    }
}

impl Rule {
    /// Whether the condition holds; `None` when it failed to evaluate, logged here.
    fn matches(&self, ctx: &Context<'_, '_>, target: Option<&str>) -> Option<bool> {
        match &self.condition {
            Condition::Targets(globs) => {
                Some(target.is_some_and(|t| globs.iter().any(|g| g.matches(t))))
            }
            Condition::Cel(program) => match program.execute(ctx) {
                Ok(cel::Value::Bool(b)) => Some(b),
                Ok(other) => {
                    tracing::debug!(rule = %self.id, result = ?other.type_of(),
                        "authorize: condition is not a bool; failing closed");
                    None
                }
                Err(error) => {
                    tracing::debug!(rule = %self.id, %error,
                        "authorize: condition failed to evaluate; failing closed");
                    None
                }
            },
        }
    }
}

impl TryFrom<Rules> for Policy {
    type Error = RuleError;

    fn try_from(rules: Rules) -> Result<Self, Self::Error> {
        Policy::new(rules)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (denies, allows) = self.rules.split_at(self.denies);
        let ids = |rules: &[Rule]| rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        f.debug_struct("Policy")
            .field("deny", &ids(denies))
            .field("allow", &ids(allows))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::Rules;

    #[test]
    fn needs_follow_what_rules_reference() {
        let needs = |rules: Rules| rules.compile().unwrap().needs();
        let plain = needs(
            Rules::new()
                .allow("a", "target == 'x'")
                .allow_targets("b", ["*"]),
        );
        assert!(!plain.args && plain.caller.is_empty());
        let has_only = needs(Rules::new().deny("a", "!has(args.path)"));
        assert!(has_only.args && has_only.caller.is_empty());
        let in_macro = needs(Rules::new().allow("a", "[1].all(x, 'admin' in caller.roles)"));
        assert!(in_macro.caller.has("roles") && !in_macro.args);
    }
}
