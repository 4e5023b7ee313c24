//! The PII rule set as a [`Guardrail`]: request arguments and whole response outputs are
//! redacted (or blocked) in place, and streamed text goes through a [`PiiFilter`].

use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::{AgentRequest, AgentResponse};
use serde_json::Value;

use super::engine::Mode;
use super::{PiiAction, PiiGuard};
use crate::guard::json::{all_strings, each_string_mut};
use crate::guard::verdict::{Exchange, Guardrail, Verdict};

impl PiiGuard {
    /// Applies the rules to every string of `value` (object keys excepted) in place. Returns
    /// the id of the first rule that rewrote a string (`None` when nothing changed), or the
    /// block of the first blocking rule that matched.
    pub fn redact_value(&self, value: &mut Value) -> Result<Option<String>, Blocked> {
        if self.is_clean_value(value) {
            return Ok(None);
        }
        let mut first: Option<String> = None;
        let mut blocked: Option<Blocked> = None;
        each_string_mut(value, &mut |text| {
            if blocked.is_some() || self.engine.is_clean(text) {
                return;
            }
            let mut out = String::with_capacity(text.len());
            let (mut pos, mut mode) = (0, Mode::Scan);
            let mut rule = None;
            let run = self.engine.run(
                text,
                &mut pos,
                &mut mode,
                true,
                Some(&mut out),
                &mut |found| {
                    if rule.is_none() && self.action_of(&found.rule_id) == Some(PiiAction::Redact) {
                        rule = Some(found.rule_id);
                    }
                },
            );
            match run {
                Err(b) => blocked = Some(b),
                Ok(()) if out != *text => {
                    *text = out;
                    if first.is_none() {
                        first = rule;
                    }
                }
                Ok(()) => {}
            }
        });
        match blocked {
            Some(b) => Err(b),
            None => Ok(first),
        }
    }

    /// Whether no rule's pattern appears in any string of `value`: the fast path.
    fn is_clean_value(&self, value: &Value) -> bool {
        all_strings(value, &mut |text| self.engine.is_clean(text))
    }

    fn action_of(&self, rule_id: &str) -> Option<PiiAction> {
        self.engine.action_of(rule_id)
    }

    fn verdict(result: Result<Option<String>, Blocked>) -> Verdict {
        match result {
            Ok(None) => Verdict::Pass,
            Ok(Some(rule)) => Verdict::mutated(rule),
            Err(blocked) => Verdict::block(blocked.rule_id()),
        }
    }
}

/// A PII rule set guards requests (their arguments: tool arguments, agent messages, prompts),
/// whole responses (their output) and streamed text (a [`PiiFilter`](super::PiiFilter) per
/// response), each side unless turned off with [`on_requests`](PiiGuard::on_requests) or
/// [`on_responses`](PiiGuard::on_responses). A redaction is [`Verdict::Mutated`] under the id
/// of the rule that matched; a blocking rule's match is [`Verdict::Block`] under its id.
impl Guardrail for PiiGuard {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        if !self.sides.requests {
            return Verdict::Pass;
        }
        // Look before asking for the arguments mutably: a protocol re-encodes what it lent.
        if request
            .arguments()
            .is_none_or(|args| self.is_clean_value(args))
        {
            return Verdict::Pass;
        }
        match request.arguments_mut() {
            Some(args) => PiiGuard::verdict(self.redact_value(args)),
            None => Verdict::Pass,
        }
    }

    /// Only the response's content fields ([`AgentResponse::content_mut`]: message text, tool
    /// results, agent parts) are redacted, so ids, names and metadata keep their value; a
    /// response that cannot tell its content apart is redacted whole.
    fn on_response(&self, _: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if !self.sides.responses || response.output().is_none_or(|out| self.is_clean_value(out)) {
            return Verdict::Pass;
        }
        let mut result: Result<Option<String>, Blocked> = Ok(None);
        let scoped = response.content_mut(&mut |content| {
            if let Ok(first) = &result {
                let first = first.clone();
                result = self.redact_value(content).map(|rule| first.or(rule));
            }
        });
        if scoped {
            return PiiGuard::verdict(result);
        }
        match response.output_mut() {
            Some(out) => PiiGuard::verdict(self.redact_value(out)),
            None => Verdict::Pass,
        }
    }

    fn watches(&self, _: &dyn AgentRequest) -> bool {
        self.sides.responses
    }

    fn text_filter(&self, _: &Exchange) -> Option<Box<dyn TextFilter>> {
        self.sides
            .responses
            .then(|| Box::new(self.filter()) as Box<dyn TextFilter>)
    }
}
