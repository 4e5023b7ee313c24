//! The response side of the seam: usage, output content and list items, reported the same
//! way by every protocol.
//!
//! A response carries a [`UsageReport`]: a one-shot channel on which layers register what to do
//! with the final [`Usage`](crate::Usage) (reconcile a token quota, charge a budget, write the audit record).
//! A plain response completes it at once; a streamed one completes it when the stream ends,
//! through [`MeteredBody`], without buffering a byte.
//!
//! A call that fails because of its upstream carries an [`UpstreamError`] in its error's chain:
//! the [`Failure`] it stands for, what the upstream answered ([`UpstreamCode`]) and where it went.
//!
//! A layer adds HTTP response headers (`agw-` names only) through the [`PolicyHeaders`] the
//! protocol front attached to the request; see [`headers`].
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use agent_gateway_core::response::{AgentResponse, Outcome, Reply};
//! use agent_gateway_core::Usage;
//! use serde_json::json;
//!
//! let reply = Reply::new(json!({"text": "hi"}));
//! let seen = Arc::new(Mutex::new(None));
//! let sink = seen.clone();
//! reply.usage_report().unwrap().on_complete(move |usage, outcome| {
//!     *sink.lock().unwrap() = Some((usage.output_tokens, outcome));
//! });
//! assert!(seen.lock().unwrap().is_none()); // not ended yet
//! reply.usage_report().unwrap().complete(Usage::tokens(3, 5), Outcome::Complete);
//! assert_eq!(*seen.lock().unwrap(), Some((5, Outcome::Complete)));
//! assert_eq!(reply.output(), Some(&json!({"text": "hi"})));
//! ```

mod body;
pub mod headers;
mod report;
mod served;
mod upstream;

pub use body::{Meter, MeteredBody, NoMeter};
pub use headers::{NotPolicyHeader, POLICY_HEADER_PREFIX, PolicyHeaderName, PolicyHeaders};
pub use report::{Failure, Outcome, UsageReport};
pub use served::ServedBy;
pub use upstream::{UpstreamCode, UpstreamError};

use serde_json::Value;

use crate::Action;

/// One item of a listing response (a tool, a prompt, a resource, an agent, a model), as a
/// policy layer sees it when filtering a list per caller.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The action that would use this item: a listed tool is used by [`Action::ToolCall`].
    pub action: Action,
    /// The name the caller would use as the target.
    pub name: &'a str,
    /// The item itself, as the protocol sends it.
    pub value: &'a Value,
}

/// A response, as the policy layers see it.
pub trait AgentResponse {
    /// The report on which the final usage arrives, if this response reports usage.
    fn usage_report(&self) -> Option<&UsageReport>;

    /// The output content, for guardrails, when the response is not streamed.
    fn output(&self) -> Option<&Value> {
        None
    }

    /// Which upstream and instance served this response, when the protocol's router says so
    /// (for the audit record).
    fn served_by(&self) -> Option<&ServedBy> {
        None
    }

    /// The same output, mutably, for a guardrail that redacts it. What is written here is
    /// what the client receives: the protocol encodes the response from it. `None` when the
    /// response has no output a layer may rewrite (the default), such as a stream.
    fn output_mut(&mut self) -> Option<&mut Value> {
        None
    }

    /// Hands `f` each content field of the output, mutably: the text and data a guardrail
    /// that redacts should look at (a model's message text, a tool result's text content and
    /// `structuredContent`, an agent's text and data parts), leaving protocol ids, names and
    /// metadata out. Returns `false` when the response cannot tell its content fields apart
    /// (the default), and a guardrail then takes the whole [`output_mut`](Self::output_mut).
    fn content_mut(&mut self, f: &mut dyn FnMut(&mut Value)) -> bool {
        let _ = f;
        false
    }

    /// Applies `filter` to the text this response carries (a stream's text as it passes, or a
    /// whole body's text), rewriting the protocol's own events with what the filter releases.
    /// Returns the filter back when this response has no text it can filter.
    fn filter_text(
        &mut self,
        filter: Box<dyn crate::content::TextFilter>,
    ) -> Result<(), Box<dyn crate::content::TextFilter>> {
        Err(filter)
    }

    /// Applies `check` to the tool calls this response carries (a model's answer): a whole
    /// answer's calls at once, a stream's each when its arguments are complete. A block turns
    /// a whole answer into the protocol's denial and ends a stream with its error event.
    /// Returns the check back when this response has no tool calls it can check.
    fn check_tool_calls(
        &mut self,
        check: Box<dyn crate::content::ToolCallCheck>,
    ) -> Result<(), Box<dyn crate::content::ToolCallCheck>> {
        Err(check)
    }

    /// Applies `check` to the structured data this response carries (an agent's data parts in
    /// artifacts and messages): a whole result's items at once, a stream's as each event
    /// passes (each event is complete; nothing is held). A block turns a whole result into the
    /// protocol's denial and ends a stream with its error event. Returns the check back when
    /// this response has no data it can check.
    fn check_data(
        &mut self,
        check: Box<dyn crate::content::DataCheck>,
    ) -> Result<(), Box<dyn crate::content::DataCheck>> {
        Err(check)
    }

    /// Keeps only the listed items for which `keep` returns true, and returns how many were
    /// removed. Responses that are not listings have no items and remove nothing.
    fn retain_items(&mut self, keep: &mut dyn FnMut(&Item<'_>) -> bool) -> usize {
        let _ = keep;
        0
    }
}

/// An HTTP response reports usage through a [`UsageReport`] in its extensions, when the
/// service that made it put one there.
impl<B> AgentResponse for http::Response<B> {
    fn usage_report(&self) -> Option<&UsageReport> {
        self.extensions().get::<UsageReport>()
    }

    fn served_by(&self) -> Option<&ServedBy> {
        self.extensions().get::<ServedBy>()
    }
}

/// A ready-made response type: output content, optional list items and a usage report.
#[derive(Debug, Clone)]
pub struct Reply {
    output: Value,
    items: Vec<(Action, String, Value)>,
    usage: UsageReport,
    served: Option<ServedBy>,
}

impl Reply {
    /// A reply with `output` and a fresh, pending usage report.
    pub fn new(output: Value) -> Self {
        Reply {
            output,
            items: Vec::new(),
            usage: UsageReport::new(),
            served: None,
        }
    }

    /// A reply whose usage is already known.
    pub fn with_usage(output: Value, usage: crate::Usage) -> Self {
        let reply = Reply::new(output);
        reply.usage.complete(usage, Outcome::Complete);
        reply
    }

    /// Adds a listed item, used by `action` under `name`.
    pub fn with_item(mut self, action: Action, name: impl Into<String>, value: Value) -> Self {
        self.items.push((action, name.into(), value));
        self
    }

    /// Says which upstream served it.
    pub fn with_served_by(mut self, served: ServedBy) -> Self {
        self.served = Some(served);
        self
    }

    /// The listed items, after any filtering.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> {
        self.items.iter().map(|(action, name, value)| Item {
            action: *action,
            name,
            value,
        })
    }

    /// The output content.
    pub fn into_output(self) -> Value {
        self.output
    }
}

impl AgentResponse for Reply {
    fn usage_report(&self) -> Option<&UsageReport> {
        Some(&self.usage)
    }

    fn output(&self) -> Option<&Value> {
        Some(&self.output)
    }

    fn served_by(&self) -> Option<&ServedBy> {
        self.served.as_ref()
    }

    fn output_mut(&mut self) -> Option<&mut Value> {
        Some(&mut self.output)
    }

    fn retain_items(&mut self, keep: &mut dyn FnMut(&Item<'_>) -> bool) -> usize {
        let before = self.items.len();
        self.items.retain(|(action, name, value)| {
            keep(&Item {
                action: *action,
                name,
                value,
            })
        });
        before - self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retain_items_filters_and_counts() {
        let mut reply = Reply::new(json!(null))
            .with_item(Action::ToolCall, "a.read", json!({}))
            .with_item(Action::ToolCall, "a.delete", json!({}))
            .with_item(Action::ToolCall, "b.read", json!({}));
        let removed = reply.retain_items(&mut |item| !item.name.ends_with("delete"));
        assert_eq!(removed, 1);
        let names: Vec<_> = reply.items().map(|i| i.name.to_owned()).collect();
        assert_eq!(names, ["a.read", "b.read"]);
    }

    #[test]
    fn http_response_without_report_has_none() {
        let mut res = http::Response::new(());
        assert!(res.usage_report().is_none());
        res.extensions_mut().insert(UsageReport::new());
        assert!(res.usage_report().is_some());
        assert_eq!(res.retain_items(&mut |_| false), 0);
    }
}
