//! What a guardrail is and what it says: the [`Guardrail`] trait, its [`Verdict`], and the
//! [`Exchange`] a response-side check sees.

use std::borrow::Cow;
use std::fmt;

use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::{Action, AgentRequest, AgentResponse, Caller, Denied};
use http::Extensions;

/// What a guardrail decided about a request, a response or a piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing to say: the content goes on as it is.
    Pass,
    /// The guardrail rewrote the content in place (redacted, trimmed) under the rule it names;
    /// the rewritten content goes on.
    Mutated {
        /// The id of the rule that rewrote it.
        rule_id: String,
    },
    /// The content may not pass; the protocol renders the denial.
    Block(Block),
}

impl Verdict {
    /// The content was rewritten under `rule_id`.
    pub fn mutated(rule_id: impl Into<String>) -> Self {
        Verdict::Mutated {
            rule_id: rule_id.into(),
        }
    }

    /// The content is blocked by `rule_id`, with the generic client message.
    pub fn block(rule_id: impl Into<String>) -> Self {
        Verdict::Block(Block::new(rule_id))
    }

    /// The content is blocked by `rule_id`, telling the client `message` (it must carry no
    /// secret: it is sent as it is).
    pub fn block_with(rule_id: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Verdict::Block(Block::new(rule_id).with_message(message))
    }
}

/// A guardrail's refusal: the rule that refused and what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    rule_id: String,
    message: Option<Cow<'static, str>>,
    bad_request: bool,
}

impl Block {
    /// A refusal by `rule_id`.
    pub fn new(rule_id: impl Into<String>) -> Self {
        Block {
            rule_id: rule_id.into(),
            message: None,
            bad_request: false,
        }
    }

    /// Tells the client `message` instead of the generic "blocked by guardrail".
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Refuses the request as malformed rather than as blocked content: the denial is
    /// [`DeniedKind::BadRequest`] naming the rule, which the protocols render as invalid
    /// params (JSON-RPC -32602, HTTP 400). For a request whose content breaks a schema its
    /// target declared, which a client can mend.
    ///
    /// [`DeniedKind::BadRequest`]: agent_gateway_core::DeniedKind::BadRequest
    pub fn as_bad_request(mut self) -> Self {
        self.bad_request = true;
        self
    }

    /// The id of the rule that refused.
    pub fn rule_id(&self) -> &str {
        &self.rule_id
    }

    /// The denial every front renders: [`DeniedKind::GuardrailBlocked`] with the rule id (or
    /// [`DeniedKind::BadRequest`] with it, [`as_bad_request`](Self::as_bad_request)).
    ///
    /// [`DeniedKind::GuardrailBlocked`]: agent_gateway_core::DeniedKind::GuardrailBlocked
    /// [`DeniedKind::BadRequest`]: agent_gateway_core::DeniedKind::BadRequest
    pub fn into_denied(self) -> Denied {
        let denied = Denied::guardrail_blocked(self.rule_id);
        let denied = match self.message {
            Some(message) => denied.with_message(message),
            None => denied,
        };
        match self.bad_request {
            true => Denied::bad_request(denied.message().to_owned())
                .with_rule(denied.rule().unwrap_or_default().to_owned()),
            false => denied,
        }
    }
}

impl From<Blocked> for Block {
    fn from(blocked: Blocked) -> Self {
        match blocked.message() {
            Some(_) => {
                let message = blocked.to_denied().message().to_owned();
                Block::new(blocked.rule_id()).with_message(message)
            }
            None => Block::new(blocked.rule_id()),
        }
    }
}

/// What a response-side check knows of the request it answers, kept when the request moved on
/// to the inner service: the request's protocol, action, target and caller, and what the
/// guardrails' [`prepare`](Guardrail::prepare) carried over (compiled schemas, say).
#[derive(Debug, Clone)]
pub struct Exchange {
    protocol: &'static str,
    action: Action,
    target: Option<String>,
    caller: Option<Caller>,
    carried: Extensions,
    added: Option<PolicyHeaders>,
}

impl Exchange {
    /// The exchange `request` opens.
    pub fn of<R: AgentRequest + ?Sized>(request: &R) -> Self {
        Exchange {
            protocol: request.protocol(),
            action: request.action(),
            target: request.target().map(str::to_owned),
            caller: request.caller().cloned(),
            carried: Extensions::new(),
            added: request.extensions().get::<PolicyHeaders>().cloned(),
        }
    }

    /// Carries `value` from the request to the response side (one value per type; a second
    /// replaces the first).
    pub fn carry<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.carried.insert(value);
    }

    /// What a [`prepare`](Guardrail::prepare) carried over, by type.
    pub fn carried<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.carried.get::<T>()
    }

    /// The headers the answer will carry, when a front attached them to the request: where a
    /// response-side check that lets the response through says what it flagged.
    pub fn policy_headers(&self) -> Option<&PolicyHeaders> {
        self.added.as_ref()
    }

    /// The request's protocol label.
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The request's action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The request's target, if any.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Who called, if known.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }
}

/// A guardrail: checks requests before the upstream, responses before the client, and offers a
/// [`TextFilter`] for streamed text.
///
/// Every method has a default that passes, so a guardrail implements only the sides it
/// checks. A closure `Fn(&mut dyn AgentRequest) -> Verdict` is a request-side guardrail; wrap
/// a response-side closure in [`on_response`](super::on_response).
///
/// A guardrail that rewrites content does it in place, through
/// [`AgentRequest::arguments_mut`] or [`AgentResponse::output_mut`], and says so with
/// [`Verdict::Mutated`]. A guardrail that looks at streams (PII redaction, say) returns a
/// filter from [`text_filter`](Guardrail::text_filter); the layer hands it to the response.
pub trait Guardrail: Send + Sync + 'static {
    /// Checks (and may rewrite) a request before the upstream sees it.
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        let _ = request;
        Verdict::Pass
    }

    /// Checks (and may rewrite) a whole response, or learns from it (a tool listing).
    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        let _ = (exchange, response);
        Verdict::Pass
    }

    /// Whether this guardrail may look at the response to `request` (its
    /// [`on_response`](Guardrail::on_response) or [`text_filter`](Guardrail::text_filter)).
    /// When no guardrail does, the layer keeps nothing of the request for the response side.
    /// The default says yes; a request-only guardrail, or one out of scope, says no.
    fn watches(&self, request: &dyn AgentRequest) -> bool {
        let _ = request;
        true
    }

    /// Builds what the response side needs from the request and [carries](Exchange::carry) it
    /// over: called once per request, after every [`on_request`](Guardrail::on_request), and
    /// only when a guardrail [watches](Guardrail::watches) the request. The default carries
    /// nothing.
    fn prepare(&self, request: &dyn AgentRequest, exchange: &mut Exchange) {
        let _ = (request, exchange);
    }

    /// A filter for the text this exchange's response carries, if this guardrail filters
    /// text. Called once per response.
    fn text_filter(&self, exchange: &Exchange) -> Option<Box<dyn TextFilter>> {
        let _ = exchange;
        None
    }
}

impl<F> Guardrail for F
where
    F: Fn(&mut dyn AgentRequest) -> Verdict + Send + Sync + 'static,
{
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        self(request)
    }

    fn watches(&self, _: &dyn AgentRequest) -> bool {
        false
    }
}

impl fmt::Debug for dyn Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Guardrail")
    }
}

/// A response-side guardrail from a closure; see [`on_response`](super::on_response).
#[derive(Clone)]
pub struct OnResponse<F>(pub(crate) F);

impl<F> fmt::Debug for OnResponse<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnResponse")
    }
}

impl<F> Guardrail for OnResponse<F>
where
    F: Fn(&Exchange, &mut dyn AgentResponse) -> Verdict + Send + Sync + 'static,
{
    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        (self.0)(exchange, response)
    }
}

/// Several text filters as one: each piece goes through them in order, so a response is
/// handed a single filter whatever the number of guardrails that filter text.
pub(crate) struct Chain(pub(crate) Vec<Box<dyn TextFilter>>);

impl TextFilter for Chain {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        let mut piece = text.to_owned();
        for filter in &mut self.0 {
            let mut next = String::new();
            filter.push(&piece, &mut next)?;
            piece = next;
        }
        out.push_str(&piece);
        Ok(())
    }

    fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
        // What one filter still held goes through the ones after it, which then finish too.
        let mut piece = String::new();
        for filter in &mut self.0 {
            let mut next = String::new();
            filter.push(&piece, &mut next)?;
            filter.finish(&mut next)?;
            piece = next;
        }
        out.push_str(&piece);
        Ok(())
    }
}
