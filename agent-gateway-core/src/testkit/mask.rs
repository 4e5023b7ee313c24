//! A [`TextFilter`] for tests of the protocols' streamed-text plumbing.

use crate::content::{Blocked, TextFilter};

/// The words [`Mask`] acts on: it masks the first, blocks on the second.
const WORDS: [&str; 2] = [Mask::SECRET, Mask::FORBIDDEN];

/// Masks every `"secret"` as `"******"` and blocks (rule [`Mask::RULE`]) on `"forbidden"`,
/// holding back only a tail that could still start one of them: a stand-in for a redacting
/// guardrail in the tests of a protocol's [`AgentResponse::filter_text`](crate::AgentResponse::filter_text).
///
/// ```
/// use agent_gateway_core::content::TextFilter;
/// use agent_gateway_core::testkit::Mask;
///
/// let mut mask = Mask::new();
/// let mut out = String::new();
/// mask.push("a sec", &mut out).unwrap();
/// assert_eq!(out, "a "); // "sec" may start "secret"
/// mask.push("ret", &mut out).unwrap();
/// mask.finish(&mut out).unwrap();
/// assert_eq!(out, "a ******");
/// assert_eq!(Mask::new().push("forbidden", &mut out).unwrap_err().rule_id(), Mask::RULE);
/// ```
#[derive(Debug, Default)]
pub struct Mask {
    held: String,
}

impl Mask {
    /// The word masked.
    pub const SECRET: &'static str = "secret";
    /// The word that blocks.
    pub const FORBIDDEN: &'static str = "forbidden";
    /// The rule id of a block.
    pub const RULE: &'static str = "no-forbidden";

    /// A fresh mask.
    pub fn new() -> Self {
        Mask::default()
    }

    /// A fresh mask, boxed as a response takes it.
    pub fn boxed() -> Box<dyn TextFilter> {
        Box::new(Mask::new())
    }
}

impl TextFilter for Mask {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        self.held.push_str(text);
        if self.held.contains(Mask::FORBIDDEN) {
            return Err(Blocked::new(Mask::RULE));
        }
        let masked = self.held.replace(Mask::SECRET, "******");
        let keep = (1..Mask::FORBIDDEN.len())
            .rev()
            .find(|n| {
                WORDS
                    .iter()
                    .any(|w| w.len() > *n && masked.ends_with(&w[..*n]))
            })
            .unwrap_or(0);
        out.push_str(&masked[..masked.len() - keep]);
        self.held = masked[masked.len() - keep..].to_owned();
        Ok(())
    }

    fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
        out.push_str(&std::mem::take(&mut self.held));
        Ok(())
    }
}
