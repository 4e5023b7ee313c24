//! Size limits: the longest string (field) and the whole encoded size of a request's
//! arguments, and optionally of a response's output, rejected or trimmed.

use agent_gateway_core::{AgentRequest, AgentResponse};
use serde_json::Value;

use super::json::{all_strings, each_string_mut, encoded_len};
use super::verdict::{Exchange, Guardrail, Verdict};

/// The rule id of a field over its limit.
pub const FIELD_RULE: &str = "size-field";
/// The rule id of content over its total limit.
pub const TOTAL_RULE: &str = "size-total";

/// What to do with content over a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oversize {
    /// Refuse it (the default).
    #[default]
    Reject,
    /// Cut each string over the field limit to it (at a character boundary). Content still over
    /// the total limit after that is refused: cutting it further would be guessing which
    /// field matters.
    Trim,
}

/// Per-field and total size limits; see the [guard module](super).
///
/// Sizes are in bytes: a field is one JSON string (UTF-8), the total is the compact JSON
/// encoding of the arguments or output.
#[derive(Debug, Clone, Default)]
pub struct SizeLimits {
    max_field: Option<usize>,
    max_total: Option<usize>,
    oversize: Oversize,
    responses: bool,
}

impl SizeLimits {
    /// No limit yet, rejecting, on requests only.
    pub fn new() -> Self {
        SizeLimits::default()
    }

    /// Limits each string to `bytes`.
    pub fn with_max_field(mut self, bytes: usize) -> Self {
        self.max_field = Some(bytes);
        self
    }

    /// Limits the whole encoded content to `bytes`.
    pub fn with_max_total(mut self, bytes: usize) -> Self {
        self.max_total = Some(bytes);
        self
    }

    /// What to do over a limit.
    pub fn with_oversize(mut self, oversize: Oversize) -> Self {
        self.oversize = oversize;
        self
    }

    /// Also limits response outputs (not streams: their size is not known until they end).
    pub fn on_responses(mut self, yes: bool) -> Self {
        self.responses = yes;
        self
    }

    fn field_over(&self, value: &Value) -> bool {
        self.max_field.is_some_and(|max| {
            let mut over = false;
            all_strings(value, &mut |s| {
                over = s.len() > max;
                !over
            });
            over
        })
    }

    fn total_over(&self, value: &Value) -> bool {
        self.max_total.is_some_and(|max| encoded_len(value) > max)
    }

    /// Checks content that is only read (reject mode).
    fn verdict_for(&self, value: Option<&Value>) -> Verdict {
        let Some(value) = value else {
            return Verdict::Pass;
        };
        if self.field_over(value) {
            return Verdict::block(FIELD_RULE);
        }
        if self.total_over(value) {
            return Verdict::block(TOTAL_RULE);
        }
        Verdict::Pass
    }

    /// Applies the limits to content that may be rewritten.
    fn apply(&self, value: Option<&mut Value>) -> Verdict {
        let Some(value) = value else {
            return Verdict::Pass;
        };
        let mut trimmed = false;
        if self.field_over(value) {
            let (Oversize::Trim, Some(max)) = (self.oversize, self.max_field) else {
                return Verdict::block(FIELD_RULE);
            };
            each_string_mut(value, &mut |s| {
                if s.len() > max {
                    let mut cut = max;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
            });
            trimmed = true;
        }
        if self.total_over(value) {
            return Verdict::block(TOTAL_RULE);
        }
        if trimmed {
            Verdict::mutated(FIELD_RULE)
        } else {
            Verdict::Pass
        }
    }
}

impl Guardrail for SizeLimits {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        if self.oversize == Oversize::Reject {
            return self.verdict_for(request.arguments());
        }
        self.apply(request.arguments_mut())
    }

    fn on_response(&self, _: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if !self.responses {
            return Verdict::Pass;
        }
        if self.oversize == Oversize::Reject {
            return self.verdict_for(response.output());
        }
        self.apply(response.output_mut())
    }

    /// Only limits that apply to responses look at them.
    fn watches(&self, _: &dyn AgentRequest) -> bool {
        self.responses
    }
}
