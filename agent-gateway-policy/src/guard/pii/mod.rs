//! PII and secrets detection: e-mail addresses, phone numbers, payment cards (Luhn-checked),
//! IBANs (mod-97-checked), US SSNs, IP addresses and the common API-key and token shapes, each
//! detected, redacted (`[REDACTED:email]`) or blocked per rule, on whole texts and on streams.
//!
//! A [`PiiGuard`] is a rule set compiled once. [`PiiGuard::redact`] rewrites a whole text;
//! [`PiiGuard::filter`] makes a [`PiiFilter`], core's [`TextFilter`](agent_gateway_core::content::TextFilter) for a stream, which a
//! response applies to its text as it passes
//! ([`AgentResponse::filter_text`](agent_gateway_core::AgentResponse::filter_text)). The filter
//! holds back only the tail of the text that could still grow into a match (at most
//! [`PiiGuard::max_hold`] bytes, and usually a word or less), so a match split across two
//! chunks is still caught and the stream is never collected.
//!
//! Matching uses the `regex` crate (linear time, no backtracking), a `RegexSet` skipping the
//! detectors that match nowhere in the text.
//!
//! ```
//! use agent_gateway_core::content::TextFilter;
//! use agent_gateway_policy::guard::pii::{Detector, PiiAction, PiiGuard, PiiRule};
//!
//! let guard = PiiGuard::new([
//!     PiiRule::new("pii-email", Detector::Email, PiiAction::Redact),
//!     PiiRule::new("pii-card", Detector::PaymentCard, PiiAction::Redact),
//!     PiiRule::new("no-keys", Detector::OpenAiKey, PiiAction::Block),
//! ]);
//! // Clean text passes as it is; a card failing the Luhn check is not a card.
//! assert_eq!(guard.redact("order 4111 1111 1111 1112 shipped").unwrap(), "order 4111 1111 1111 1112 shipped");
//! assert_eq!(
//!     guard.redact("mail ann@example.com, card 4111 1111 1111 1111").unwrap(),
//!     "mail [REDACTED:email], card [REDACTED:payment_card]",
//! );
//! // A blocking rule refuses the text, naming itself.
//! let blocked = guard.redact("key sk-abcdefghijklmnopqrstuvwx").unwrap_err();
//! assert_eq!(blocked.rule_id(), "no-keys");
//!
//! // On a stream, an address split across pieces is still redacted.
//! let mut filter = guard.filter();
//! let mut out = String::new();
//! for piece in ["write to ann@exa", "mple.com today"] {
//!     filter.push(piece, &mut out).unwrap();
//! }
//! filter.finish(&mut out).unwrap();
//! assert_eq!(out, "write to [REDACTED:email] today");
//! ```

mod detector;
mod engine;
mod filter;
mod rail;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use agent_gateway_core::content::Blocked;

pub use detector::Detector;
pub use filter::PiiFilter;

use engine::{Engine, Mode};

/// What a rule does with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PiiAction {
    /// Lets the text pass unchanged; the match is reported ([`PiiGuard::scan`], and a `debug`
    /// log line with the rule id on streams).
    Detect,
    /// Replaces the match with `[REDACTED:{label}]`, the label naming the detector.
    Redact,
    /// Refuses the content with a [`Blocked`] naming the rule.
    Block,
}

impl PiiAction {
    /// The action named `name` (`detect`, `redact` or `block`), as a config file spells it.
    pub fn from_name(name: &str) -> Option<PiiAction> {
        match name {
            "detect" => Some(PiiAction::Detect),
            "redact" => Some(PiiAction::Redact),
            "block" => Some(PiiAction::Block),
            _ => None,
        }
    }
}

/// One rule: an id (reported in blocks and findings), a detector and its action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiRule {
    id: String,
    detector: Detector,
    action: PiiAction,
}

impl PiiRule {
    /// A rule `id` applying `action` to what `detector` finds.
    pub fn new(id: impl Into<String>, detector: Detector, action: PiiAction) -> Self {
        PiiRule {
            id: id.into(),
            detector,
            action,
        }
    }

    /// Every detector, redacting, with the ids `pii.{label}` (`pii.email`, `pii.iban`, ...).
    pub fn defaults() -> Vec<PiiRule> {
        Detector::ALL
            .into_iter()
            .map(|d| PiiRule::new(format!("pii.{}", d.label()), d, PiiAction::Redact))
            .collect()
    }

    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rule's detector.
    pub fn detector(&self) -> Detector {
        self.detector
    }

    /// The rule's action.
    pub fn action(&self) -> PiiAction {
        self.action
    }
}

/// A match found by [`PiiGuard::scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The id of the rule that matched.
    pub rule_id: String,
    /// What was found.
    pub detector: Detector,
    /// Where, in bytes of the scanned text. For an open-ended token or a key block, the range
    /// covers its recognisable start.
    pub range: Range<usize>,
}

/// A compiled PII rule set: cheap to clone, shared by every filter made from it.
///
/// It is also a [`Guardrail`](crate::guard::Guardrail) for the
/// [`GuardLayer`](crate::guard::GuardLayer): request arguments and whole outputs are
/// redacted in place, streamed text is filtered as it passes.
#[derive(Debug, Clone)]
pub struct PiiGuard {
    engine: Arc<Engine>,
    sides: Sides,
}

/// Which sides of an exchange a [`PiiGuard`] guards as a guardrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sides {
    requests: bool,
    responses: bool,
}

impl PiiGuard {
    /// Compiles `rules`. Where two rules match at the same place, the more specific detector
    /// wins (a private key over a token, an Anthropic key over an OpenAI one).
    pub fn new(rules: impl IntoIterator<Item = PiiRule>) -> Self {
        let rules: Vec<PiiRule> = rules.into_iter().collect();
        PiiGuard {
            engine: Arc::new(Engine::new(&rules)),
            sides: Sides {
                requests: true,
                responses: true,
            },
        }
    }

    /// As a guardrail, looks at request arguments (`true` by default).
    pub fn on_requests(mut self, yes: bool) -> Self {
        self.sides.requests = yes;
        self
    }

    /// As a guardrail, looks at response outputs and streamed text (`true` by default).
    pub fn on_responses(mut self, yes: bool) -> Self {
        self.sides.responses = yes;
        self
    }

    /// A filter for one streamed text (or several texts in turn: it starts afresh after each
    /// [`finish`](agent_gateway_core::content::TextFilter::finish)).
    pub fn filter(&self) -> PiiFilter {
        PiiFilter::new(self.engine.clone())
    }

    /// The most bytes a [`PiiFilter`] ever holds back: the longest text that could still grow
    /// into a match of one of the rules (an e-mail address is the longest of the built-ins).
    pub fn max_hold(&self) -> usize {
        self.engine.max_hold
    }

    /// Applies the rules to a whole text: the text itself when nothing matched, the redacted
    /// text otherwise, or the block of the first blocking rule that matched.
    pub fn redact<'a>(&self, text: &'a str) -> Result<Cow<'a, str>, Blocked> {
        if self.engine.is_clean(text) {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        let (mut pos, mut mode) = (0, Mode::Scan);
        self.engine
            .run(text, &mut pos, &mut mode, true, Some(&mut out), &mut |_| {})?;
        Ok(if out == text {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(out)
        })
    }

    /// Every match of the rules in `text`, whatever their action, in order.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let mut found = Vec::new();
        if self.engine.is_clean(text) {
            return found;
        }
        let (mut pos, mut mode) = (0, Mode::Scan);
        // Without an output nothing is released, so nothing blocks.
        let _ = self
            .engine
            .run(text, &mut pos, &mut mode, true, None, &mut |f| {
                found.push(f)
            });
        found
    }
}

impl Default for PiiGuard {
    /// Every detector, redacting ([`PiiRule::defaults`]).
    fn default() -> Self {
        PiiGuard::new(PiiRule::defaults())
    }
}
