//! Deny rules: keyword and regex rules with ids, over every string of a request's arguments
//! (tool arguments, agent messages, prompts in a model request) and of a response's output.

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::{AgentRequest, AgentResponse};
use regex::{Regex, RegexBuilder};

use super::json::all_strings;
use super::verdict::{Exchange, Guardrail, Verdict};

/// The largest compiled size of one rule's regex, in bytes. A rule is operator config, not
/// client input, but a mistyped counted repetition (`\w{1000}{1000}`) would otherwise take
/// memory and time at every request; 1 MiB is far more than any deny pattern needs.
pub const MAX_RULE_SIZE: usize = 1 << 20;

/// A rule that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("deny rule {id}: {source}")]
pub struct DenyError {
    id: String,
    #[source]
    source: regex::Error,
}

/// Where a set of rules looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sides {
    requests: bool,
    responses: bool,
}

/// Keyword and regex deny rules; see the [guard module](super).
///
/// Matching uses the `regex` crate, whose engine runs in time linear in the text (no
/// backtracking, so no ReDoS). A keyword matches case-insensitively, anywhere in a string.
/// Rules look at requests and responses both unless told otherwise.
#[derive(Clone)]
pub struct DenyRules {
    rules: Arc<Vec<(String, Regex)>>,
    sides: Sides,
}

impl Default for DenyRules {
    fn default() -> Self {
        DenyRules::new()
    }
}

impl fmt::Debug for DenyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.rules.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("DenyRules")
            .field("rules", &ids)
            .field("requests", &self.sides.requests)
            .field("responses", &self.sides.responses)
            .finish()
    }
}

impl DenyRules {
    /// No rules yet, looking at requests and responses.
    pub fn new() -> Self {
        DenyRules {
            rules: Arc::new(Vec::new()),
            sides: Sides {
                requests: true,
                responses: true,
            },
        }
    }

    /// Adds the rule `id` matching `keyword` in any case.
    pub fn keyword(self, id: impl Into<String>, keyword: &str) -> Result<Self, DenyError> {
        self.add(id.into(), &regex::escape(keyword), true)
    }

    /// Adds the rule `id` matching the regex `pattern`.
    pub fn regex(self, id: impl Into<String>, pattern: &str) -> Result<Self, DenyError> {
        self.add(id.into(), pattern, false)
    }

    fn add(mut self, id: String, pattern: &str, ignore_case: bool) -> Result<Self, DenyError> {
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(ignore_case)
            .size_limit(MAX_RULE_SIZE)
            .build()
            .map_err(|source| DenyError {
                id: id.clone(),
                source,
            })?;
        Arc::make_mut(&mut self.rules).push((id, regex));
        Ok(self)
    }

    /// Looks at request arguments (`true` by default).
    pub fn on_requests(mut self, yes: bool) -> Self {
        self.sides.requests = yes;
        self
    }

    /// Looks at response outputs (`true` by default).
    pub fn on_responses(mut self, yes: bool) -> Self {
        self.sides.responses = yes;
        self
    }

    /// The id of the first rule matching a string of `value`, if any.
    pub fn first_match(&self, value: &serde_json::Value) -> Option<&str> {
        let mut hit = None;
        all_strings(value, &mut |s| {
            hit = self.rules.iter().find(|(_, re)| re.is_match(s));
            hit.is_none()
        });
        hit.map(|(id, _)| id.as_str())
    }
}

impl Guardrail for DenyRules {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        let hit = self
            .sides
            .requests
            .then(|| request.arguments().and_then(|args| self.first_match(args)))
            .flatten();
        hit.map_or(Verdict::Pass, Verdict::block)
    }

    fn on_response(&self, _: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        let hit = self
            .sides
            .responses
            .then(|| response.output().and_then(|out| self.first_match(out)))
            .flatten();
        hit.map_or(Verdict::Pass, Verdict::block)
    }
}
