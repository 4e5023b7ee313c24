//! The stream side of the content seam: a stateful filter over the text a response carries,
//! applied by the protocol as its stream passes, without buffering the stream.
//!
//! A guardrail that redacts or blocks streamed text hands the response a [`TextFilter`] through
//! [`AgentResponse::filter_text`](crate::AgentResponse::filter_text). The protocol feeds the
//! filter each piece of text in order (an OpenAI `delta.content`, an Anthropic `text_delta`, an
//! A2A text part) and sends on what the filter releases, in its own dialect. A filter may hold
//! back a few bytes that a match could still span; it releases them on the next piece or at
//! [`finish`](TextFilter::finish).
//!
//! ```
//! use agent_gateway_core::content::{Blocked, TextFilter};
//!
//! /// Replaces every "secret" with "******", holding back a tail that could start one.
//! struct Mask { held: String }
//!
//! impl TextFilter for Mask {
//!     fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
//!         self.held.push_str(text);
//!         let masked = self.held.replace("secret", "******");
//!         // Keep back the longest tail that is a prefix of the pattern.
//!         let keep = (1..6).rev().find(|n| masked.ends_with(&"secret"[..*n])).unwrap_or(0);
//!         out.push_str(&masked[..masked.len() - keep]);
//!         self.held = masked[masked.len() - keep..].to_owned();
//!         Ok(())
//!     }
//!     fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
//!         out.push_str(&std::mem::take(&mut self.held));
//!         Ok(())
//!     }
//! }
//!
//! let mut filter = Mask { held: String::new() };
//! let mut out = String::new();
//! for piece in ["my sec", "ret is", " safe"] {
//!     filter.push(piece, &mut out).unwrap();
//! }
//! filter.finish(&mut out).unwrap();
//! assert_eq!(out, "my ****** is safe");
//! assert_eq!(Blocked::new("deny-1").rule_id(), "deny-1");
//! ```

use std::fmt;

/// A stateful filter over the text of a response, fed piece by piece in stream order.
///
/// Implementations hold back only what a match could still span, so the time to first byte
/// grows by at most the longest pattern.
pub trait TextFilter: Send + 'static {
    /// Takes the next piece of text and appends to `out` the text that may be released now
    /// (redacted where needed). A [`Blocked`] ends the stream with the protocol's denial.
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked>;

    /// The text ended (the stream, or one content block of it): appends whatever is still held
    /// back.
    fn finish(&mut self, out: &mut String) -> Result<(), Blocked>;
}

impl fmt::Debug for dyn TextFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TextFilter")
    }
}

/// A filter's verdict that the content may not pass, with the id of the rule that said so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content blocked by rule {rule_id}")]
pub struct Blocked {
    rule_id: String,
}

impl Blocked {
    /// A block by the rule `rule_id`.
    pub fn new(rule_id: impl Into<String>) -> Self {
        Blocked {
            rule_id: rule_id.into(),
        }
    }

    /// The id of the rule that blocked the content.
    pub fn rule_id(&self) -> &str {
        &self.rule_id
    }
}
