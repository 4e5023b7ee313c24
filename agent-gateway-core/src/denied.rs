//! The one typed policy outcome: a request refused, and why.
//!
//! Layers return it boxed inside their error; the protocol front finds it by walking the error's
//! source chain and renders it in its own wire format.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_core::{BoxError, Denied, DeniedKind};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("layer failed")]
//! struct Wrapper(#[source] Denied);
//!
//! let err: BoxError = Box::new(Wrapper(Denied::quota_exceeded(Duration::from_secs(3))));
//! let denied = Denied::find(err.as_ref()).expect("a denial in the chain");
//! assert_eq!(denied.kind(), &DeniedKind::QuotaExceeded { retry_after: Duration::from_secs(3) });
//! assert_eq!(denied.retry_after(), Some(Duration::from_secs(3)));
//! assert_eq!(denied.http_status(), http::StatusCode::TOO_MANY_REQUESTS);
//!
//! let other: BoxError = "plain failure".into();
//! assert!(Denied::find(other.as_ref()).is_none());
//! ```

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

/// The longest wait [`Denied::retry_after_header`] tells a client: one day.
///
/// A quota's own window is the truth a client should hear (a limit of 2 per hour frees its
/// next slot in up to an hour; saying less only invites refused retries), so the clamp is a
/// sanity bound against absurd values, not a policy. Waits parsed from an upstream's
/// `Retry-After` are a different matter and are bounded where they are parsed.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeniedKind {
    /// No credential, or one that did not verify.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// A rate or token quota is used up for now; retrying after `retry_after` may succeed.
    QuotaExceeded {
        /// How long until the quota admits this request again.
        retry_after: Duration,
    },
    /// A spend or run budget is exhausted; retrying will not help until the period resets.
    BudgetExhausted,
    /// A guardrail blocked the content.
    GuardrailBlocked {
        /// The id of the rule that blocked it.
        rule_id: String,
    },
    /// The request itself is malformed or not allowed by the protocol.
    BadRequest,
    /// A policy could not decide because a backing store is down, and the layer fails closed.
    Unavailable,
}

impl DeniedKind {
    /// The stable snake_case name of this kind, for logs, metrics and audit.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeniedKind::Unauthenticated => "unauthenticated",
            DeniedKind::Forbidden => "forbidden",
            DeniedKind::QuotaExceeded { .. } => "quota_exceeded",
            DeniedKind::BudgetExhausted => "budget_exhausted",
            DeniedKind::GuardrailBlocked { .. } => "guardrail_blocked",
            DeniedKind::BadRequest => "bad_request",
            DeniedKind::Unavailable => "unavailable",
        }
    }
}

/// A request refused by policy.
///
/// The message is written for the client: it must not carry secrets or internal details.
/// `rule` names the policy rule that decided, when one did, so that a denial can be traced to
/// its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    kind: DeniedKind,
    message: Cow<'static, str>,
    rule: Option<String>,
}

impl Denied {
    /// A denial of `kind` with a client-facing message.
    pub fn new(kind: DeniedKind, message: impl Into<Cow<'static, str>>) -> Self {
        Denied {
            kind,
            message: message.into(),
            rule: None,
        }
    }

    /// No valid credential.
    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Denied::new(DeniedKind::Unauthenticated, message)
    }

    /// The caller may not do this.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Denied::new(DeniedKind::Forbidden, message)
    }

    /// A quota is used up until `retry_after` has passed.
    pub fn quota_exceeded(retry_after: Duration) -> Self {
        Denied::new(DeniedKind::QuotaExceeded { retry_after }, "quota exceeded")
    }

    /// A budget is exhausted.
    pub fn budget_exhausted(message: impl Into<Cow<'static, str>>) -> Self {
        Denied::new(DeniedKind::BudgetExhausted, message)
    }

    /// A guardrail rule blocked the content; the message names the rule
    /// (`blocked by guardrail (rule ID)`), as a blocked stream's error event does, so a client
    /// of a dialect without a structured error field still learns which rule refused.
    pub fn guardrail_blocked(rule_id: impl Into<String>) -> Self {
        let rule_id = rule_id.into();
        Denied {
            kind: DeniedKind::GuardrailBlocked {
                rule_id: rule_id.clone(),
            },
            message: Cow::Owned(format!("blocked by guardrail (rule {rule_id})")),
            rule: Some(rule_id),
        }
    }

    /// The request is malformed.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Denied::new(DeniedKind::BadRequest, message)
    }

    /// A backing store is down and the layer fails closed.
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Denied::new(DeniedKind::Unavailable, message)
    }

    /// Names the rule that decided.
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }

    /// Replaces the client-facing message.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// Why the request was refused.
    pub fn kind(&self) -> &DeniedKind {
        &self.kind
    }

    /// The client-facing message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The id of the rule that decided, if one did.
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// How long the client should wait before retrying, for quota denials.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            DeniedKind::QuotaExceeded { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The `Retry-After` header for quota denials: whole seconds, rounded up (a client that
    /// waits the rounded-down time would be refused again), and clamped to at most
    /// [`MAX_RETRY_AFTER`], so a misconfigured window cannot tell clients to go away for years.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agent_gateway_core::Denied;
    ///
    /// let header = |ms| Denied::quota_exceeded(Duration::from_millis(ms)).retry_after_header();
    /// assert_eq!(header(1_200).unwrap(), "2");
    /// assert_eq!(header(3_000).unwrap(), "3");
    /// assert_eq!(header(1_800_000).unwrap(), "1800");
    /// assert_eq!(header(31_536_000_000).unwrap(), "86400");
    /// assert_eq!(Denied::forbidden("no").retry_after_header(), None);
    /// ```
    pub fn retry_after_header(&self) -> Option<HeaderValue> {
        let after = self.retry_after()?.min(MAX_RETRY_AFTER);
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        Some(HeaderValue::from(secs))
    }

    /// The HTTP status that fits this denial when a protocol has no more specific rule.
    ///
    /// A budget exhausted is 402: unlike a quota, waiting a moment will not help, and 429 would
    /// make well-behaved clients retry in a loop.
    pub fn http_status(&self) -> StatusCode {
        match self.kind {
            DeniedKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            DeniedKind::Forbidden => StatusCode::FORBIDDEN,
            DeniedKind::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            DeniedKind::BudgetExhausted => StatusCode::PAYMENT_REQUIRED,
            DeniedKind::GuardrailBlocked { .. } => StatusCode::FORBIDDEN,
            DeniedKind::BadRequest => StatusCode::BAD_REQUEST,
            DeniedKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Finds a denial in `err` or anywhere in its source chain.
    pub fn find<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a Denied> {
        crate::error::cause_ref(err)
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule {rule})")?;
        }
        Ok(())
    }
}

impl Error for Denied {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxError;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] Denied);

    #[test]
    fn found_deep_in_the_chain() {
        let err: BoxError = Box::new(Outer(Middle(Denied::guardrail_blocked("pii-1"))));
        let d = Denied::find(err.as_ref()).unwrap();
        assert_eq!(d.rule(), Some("pii-1"));
        assert_eq!(
            d.kind(),
            &DeniedKind::GuardrailBlocked {
                rule_id: "pii-1".into()
            }
        );
        assert_eq!(d.retry_after(), None);
        // The message names the rule, for dialects whose error body has no field for it.
        assert_eq!(d.message(), "blocked by guardrail (rule pii-1)");
    }

    #[test]
    fn found_when_boxed_directly() {
        let err: BoxError = Box::new(Denied::forbidden("no").with_rule("r7"));
        let d = Denied::find(err.as_ref()).unwrap();
        assert_eq!(d.to_string(), "forbidden: no (rule r7)");
        assert_eq!(d.http_status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn statuses_per_kind() {
        assert_eq!(Denied::unauthenticated("x").http_status(), 401);
        assert_eq!(Denied::budget_exhausted("x").http_status(), 402);
        assert_eq!(Denied::bad_request("x").http_status(), 400);
        assert_eq!(Denied::unavailable("x").http_status(), 503);
    }
}
