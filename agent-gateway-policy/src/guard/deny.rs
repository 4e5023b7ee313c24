//! Deny rules: keyword and regex rules with ids, over every string of a request's arguments
//! (tool arguments, agent messages, prompts in a model request), of a response's output, and
//! of streamed text as it passes ([`DenyFilter`]).

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::{AgentRequest, AgentResponse};
use regex::{Regex, RegexBuilder};

use super::json::all_strings;
use super::verdict::{Exchange, Guardrail, Verdict};

/// The largest compiled size of one rule's regex, in bytes. A rule is operator config, not
/// client input, but a mistyped counted repetition (`\w{1000}{1000}`) would otherwise take
/// memory and time at every request; 1 MiB is far more than any deny pattern needs.
pub const MAX_RULE_SIZE: usize = 1 << 20;

/// The most streamed text a [`DenyFilter`] holds back for a rule whose matches have no
/// bounded length (`\w+`, `.*`): 4 KiB, a few sentences, so the client's time to first byte
/// grows by at most that. A match of such a rule longer than this and split across two pieces
/// of a stream is not seen; a bounded rule (a keyword, `AKIA[0-9A-Z]{16}`) is always seen.
pub const MAX_STREAM_HOLD: usize = 4096;

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
    /// How many bytes a stream filter holds back: the longest match less one, bounded.
    hold: usize,
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
            hold: 0,
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
        let longest = regex_syntax::ParserBuilder::new()
            .case_insensitive(ignore_case)
            .build()
            .parse(pattern)
            .ok()
            .and_then(|hir| hir.properties().maximum_len())
            .unwrap_or(usize::MAX);
        self.hold = self
            .hold
            .max(longest.saturating_sub(1).min(MAX_STREAM_HOLD));
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

    /// A filter blocking a streamed text as soon as a rule matches in it; see [`DenyFilter`].
    pub fn filter(&self) -> DenyFilter {
        DenyFilter {
            rules: Arc::clone(&self.rules),
            hold: self.hold,
            buf: String::new(),
            context: 0,
        }
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

    fn watches(&self, _: &dyn AgentRequest) -> bool {
        self.sides.responses && !self.rules.is_empty()
    }

    /// Streamed text is checked as it passes (when the rules look at responses).
    fn text_filter(&self, _: &Exchange) -> Option<Box<dyn TextFilter>> {
        (self.sides.responses && !self.rules.is_empty())
            .then(|| Box::new(self.filter()) as Box<dyn TextFilter>)
    }
}

/// Deny rules over a streamed text: each piece is searched together with the tail held back
/// from the one before, and a match blocks the stream (the protocol ends it with its error
/// event) before any of the matching text is released.
///
/// It holds back only the longest match of a rule less one byte (at most
/// [`MAX_STREAM_HOLD`]), so a match split across pieces is caught and the stream is never
/// collected. Made by [`DenyRules::filter`].
///
/// ```
/// use agent_gateway_core::content::TextFilter;
/// use agent_gateway_policy::guard::DenyRules;
///
/// let rules = DenyRules::new().keyword("no-drop", "drop table").unwrap();
/// let mut filter = rules.filter();
/// let mut out = String::new();
/// filter.push("select 1; ", &mut out).unwrap();
/// let blocked = filter.push("DROP TA", &mut out).and_then(|()| filter.push("BLE users", &mut out));
/// assert_eq!(blocked.unwrap_err().rule_id(), "no-drop");
/// // Nothing of the match went out.
/// assert!(!out.to_lowercase().contains("drop"));
/// ```
pub struct DenyFilter {
    rules: Arc<Vec<(String, Regex)>>,
    hold: usize,
    /// The text not released yet, after `context` bytes already released (one character that
    /// a word boundary may look at).
    buf: String,
    context: usize,
}

impl fmt::Debug for DenyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenyFilter")
            .field("rules", &self.rules.len())
            .field("held", &(self.buf.len() - self.context))
            .finish()
    }
}

impl DenyFilter {
    /// The first rule matching in the unreleased text.
    fn check(&self) -> Result<(), Blocked> {
        match self
            .rules
            .iter()
            .find(|(_, re)| re.find_at(&self.buf, self.context).is_some())
        {
            Some((id, _)) => Err(Blocked::new(id.clone())),
            None => Ok(()),
        }
    }
}

impl TextFilter for DenyFilter {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        self.buf.push_str(text);
        self.check()?;
        // Release all but the tail a match could still span.
        let mut keep = self.buf.len().saturating_sub(self.hold).max(self.context);
        while !self.buf.is_char_boundary(keep) {
            keep -= 1;
        }
        let keep = keep.max(self.context);
        out.push_str(&self.buf[self.context..keep]);
        // Keep one released character as context.
        let ctx = self.buf[..keep]
            .char_indices()
            .next_back()
            .map_or(keep, |(i, _)| i);
        self.buf.drain(..ctx);
        self.context = keep - ctx;
        Ok(())
    }

    fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
        let checked = self.check();
        if checked.is_ok() {
            out.push_str(&self.buf[self.context..]);
        }
        self.buf.clear();
        self.context = 0;
        checked
    }
}
