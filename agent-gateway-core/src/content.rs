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
//!
//! The tool calls a model answers with are checked the same way: a [`ToolCallCheck`] handed to
//! the response through
//! [`AgentResponse::check_tool_calls`](crate::AgentResponse::check_tool_calls) sees each call
//! once its arguments are complete (a whole answer's at once, a stream's when the call's last
//! argument delta has passed), and may end the answer with the protocol's denial. The tools a
//! request offers the model come from
//! [`AgentRequest::offered_tools`](crate::AgentRequest::offered_tools).
//!
//! Structured data (an agent's data parts) is checked alike: a [`DataCheck`] sees each
//! [`DataItem`] of a request ([`AgentRequest::check_data`](crate::AgentRequest::check_data))
//! or of a response ([`AgentResponse::check_data`](crate::AgentResponse::check_data), a
//! stream's as each event passes). The schemas a target declares for its data reach the
//! policy layers as [`DeclaredDataSchemas`] in the request's extensions.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

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
    message: Option<String>,
}

impl Blocked {
    /// A block by the rule `rule_id`.
    pub fn new(rule_id: impl Into<String>) -> Self {
        Blocked {
            rule_id: rule_id.into(),
            message: None,
        }
    }

    /// Says why, for the client (it must carry no secret: it is sent as it is), after the
    /// rule: a schema check names the schema path that failed.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The id of the rule that blocked the content.
    pub fn rule_id(&self) -> &str {
        &self.rule_id
    }

    /// Why, when the rule said.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The denial a whole answer is refused with: a guardrail block naming the rule, and the
    /// reason after it when there is one.
    pub fn to_denied(&self) -> crate::Denied {
        let denied = crate::Denied::guardrail_blocked(self.rule_id.clone());
        match &self.message {
            Some(why) => {
                let message = format!("{}: {why}", denied.message());
                denied.with_message(message)
            }
            None => denied,
        }
    }
}

/// A tool a request offers the model, as the request declares it: its name and the JSON
/// Schema of its arguments (OpenAI's `parameters`, Anthropic's `input_schema`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolDefinition<'a> {
    /// The name the model calls it by.
    pub name: &'a str,
    /// The schema its arguments must match; `None` when the definition has none.
    pub schema: Option<&'a Value>,
}

/// A tool call a model answered with, its arguments complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolCall<'a> {
    /// The tool called.
    pub name: &'a str,
    /// The arguments, parsed; `None` when what the model sent is not JSON.
    pub arguments: Option<&'a Value>,
}

/// A check on the tool calls of a model's answer, fed each call once its arguments are
/// complete, in answer order.
///
/// ```
/// use agent_gateway_core::content::{Blocked, ToolCall, ToolCallCheck};
/// use serde_json::json;
///
/// /// Refuses any call to `rm`.
/// struct NoRm;
/// impl ToolCallCheck for NoRm {
///     fn check(&mut self, call: &ToolCall<'_>) -> Result<(), Blocked> {
///         match call.name {
///             "rm" => Err(Blocked::new("no-rm").with_message("rm is not allowed")),
///             _ => Ok(()),
///         }
///     }
/// }
///
/// let args = json!({"path": "/"});
/// let call = |name| ToolCall { name, arguments: Some(&args) };
/// assert!(NoRm.check(&call("ls")).is_ok());
/// let blocked = NoRm.check(&call("rm")).unwrap_err();
/// assert_eq!(blocked.to_denied().message(), "blocked by guardrail (rule no-rm): rm is not allowed");
/// ```
pub trait ToolCallCheck: Send + 'static {
    /// Checks one complete call. A [`Blocked`] refuses the answer (a whole one becomes the
    /// protocol's denial; a stream ends with its error event before the call completes).
    fn check(&mut self, call: &ToolCall<'_>) -> Result<(), Blocked>;
}

impl fmt::Debug for dyn ToolCallCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToolCallCheck")
    }
}

/// One item of structured data in a request or a response (an A2A data part): where it is,
/// its media type and the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataItem<'a> {
    /// Where it is, as a JSON Pointer into the request's params or the response's result
    /// (`/message/parts/1`) or, on a stream, into the event.
    pub at: &'a str,
    /// Its media type, lower-cased and without parameters (`application/json` when the
    /// protocol says none).
    pub media_type: &'a str,
    /// The data.
    pub data: &'a Value,
}

/// A check on the structured data of a request or a response, fed each item in order.
///
/// ```
/// use agent_gateway_core::content::{Blocked, DataCheck, DataItem};
/// use serde_json::json;
///
/// /// Refuses data that is not an object.
/// struct Objects;
/// impl DataCheck for Objects {
///     fn check(&mut self, item: &DataItem<'_>) -> Result<(), Blocked> {
///         match item.data.is_object() {
///             true => Ok(()),
///             false => Err(Blocked::new("objects").with_message(format!("{} is not an object", item.at))),
///         }
///     }
/// }
///
/// let (object, number) = (json!({"qty": 1}), json!(7));
/// let item = |data| DataItem { at: "/message/parts/0", media_type: "application/json", data };
/// assert!(Objects.check(&item(&object)).is_ok());
/// let blocked = Objects.check(&item(&number)).unwrap_err();
/// assert_eq!(blocked.message(), Some("/message/parts/0 is not an object"));
/// ```
pub trait DataCheck: Send + 'static {
    /// Checks one item. A [`Blocked`] refuses it: a request is refused before the upstream,
    /// a whole answer becomes the protocol's denial, a stream ends with its error event.
    fn check(&mut self, item: &DataItem<'_>) -> Result<(), Blocked>;
}

impl fmt::Debug for dyn DataCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataCheck")
    }
}

/// The data schemas a request's target declares (an A2A agent's card extension), put in the
/// request's extensions by the protocol front: a JSON object from media type to JSON Schema,
/// with optional `accepts` and `returns` objects of the same shape for one direction.
///
/// The `Arc` is the same for every request while the declaration is unchanged, so a
/// guardrail can compile it once and recognise it by pointer.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredDataSchemas(pub Arc<Value>);
