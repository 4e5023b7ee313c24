//! [`A2aResponse`]: what the router answers, as the policy layers see it.
//!
//! ```
//! use agent_gateway_a2a::response::A2aResponse;
//! use agent_gateway_core::AgentResponse;
//! use serde_json::json;
//!
//! let mut listing = A2aResponse::agents(vec![
//!     ("planner".into(), json!({"name": "planner"})),
//!     ("payroll".into(), json!({"name": "payroll"})),
//! ]);
//! // A policy filters the listing per caller: allowed items stay, denied ones go.
//! let removed = listing.retain_items(&mut |item| item.name != "payroll");
//! assert_eq!(removed, 1);
//! assert_eq!(listing.output(), None);
//! let unary = A2aResponse::result(json!({"task": {"id": "t"}}));
//! assert_eq!(unary.output().unwrap()["task"]["id"], "t");
//! ```

use std::fmt;
use std::time::SystemTime;

use agent_gateway_core::content::{DataCheck, TextFilter};
use agent_gateway_core::response::{Item, Outcome, ServedBy};
use agent_gateway_core::{Action, AgentResponse, Denied, Usage, UsageReport};
use serde_json::Value;

use crate::stream::EventStream;

/// The content of an [`A2aResponse`].
#[non_exhaustive]
pub enum Reply {
    /// A unary result (the JSON-RPC `result`, or the HTTP+JSON body), in the client's version.
    Result(Value),
    /// A stream of results, relayed as they arrive.
    Stream(Box<EventStream>),
    /// An agent card as the agent serves it, before the front rewrites it.
    Card {
        /// The card.
        card: Value,
        /// When it was fetched.
        fetched: SystemTime,
    },
    /// The discovery listing: agent name and its entry.
    Agents(Vec<(String, Value)>),
    /// A guardrail refused the result: the client gets this denial instead.
    Denied(Denied),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Result(v) => f.debug_tuple("Result").field(v).finish(),
            Reply::Stream(_) => f.write_str("Stream"),
            Reply::Card { .. } => f.write_str("Card"),
            Reply::Agents(a) => f.debug_tuple("Agents").field(&a.len()).finish(),
            Reply::Denied(d) => f.debug_tuple("Denied").field(d).finish(),
        }
    }
}

/// A response from the router.
#[derive(Debug)]
pub struct A2aResponse {
    reply: Reply,
    usage: UsageReport,
    served: Option<ServedBy>,
}

impl A2aResponse {
    fn new(reply: Reply) -> Self {
        let usage = UsageReport::new();
        if !matches!(reply, Reply::Stream(_)) {
            usage.complete(Usage::default(), Outcome::Complete);
        }
        A2aResponse {
            reply,
            usage,
            served: None,
        }
    }

    /// A unary result.
    pub fn result(value: Value) -> Self {
        Self::new(Reply::Result(value))
    }

    /// A stream; its usage report completes when the stream ends.
    pub fn stream(mut stream: EventStream) -> Self {
        let usage = UsageReport::new();
        stream.set_report(usage.clone());
        A2aResponse {
            reply: Reply::Stream(Box::new(stream)),
            usage,
            served: None,
        }
    }

    /// Says which agent and instance answered, for the audit record
    /// ([`AgentResponse::served_by`]).
    pub fn with_served_by(mut self, served: ServedBy) -> Self {
        self.served = Some(served);
        self
    }

    /// A card.
    pub fn card(card: Value, fetched: SystemTime) -> Self {
        Self::new(Reply::Card { card, fetched })
    }

    /// A discovery listing.
    pub fn agents(items: Vec<(String, Value)>) -> Self {
        Self::new(Reply::Agents(items))
    }

    /// The content.
    pub fn into_reply(self) -> Reply {
        self.reply
    }
}

impl AgentResponse for A2aResponse {
    fn usage_report(&self) -> Option<&UsageReport> {
        Some(&self.usage)
    }

    fn served_by(&self) -> Option<&ServedBy> {
        self.served.as_ref()
    }

    fn output(&self) -> Option<&Value> {
        match &self.reply {
            Reply::Result(v) => Some(v),
            _ => None,
        }
    }

    fn output_mut(&mut self) -> Option<&mut Value> {
        match &mut self.reply {
            Reply::Result(v) => Some(v),
            _ => None,
        }
    }

    /// The text of its text parts and the `data` of its data parts, wherever a result holds
    /// `parts` (both versions); task, context and message ids, kinds and metadata are left out.
    fn content_mut(&mut self, f: &mut dyn FnMut(&mut Value)) -> bool {
        match &mut self.reply {
            Reply::Result(value) => {
                crate::filter::each_part_content(value, f);
                true
            }
            _ => false,
        }
    }

    /// The text parts of a result (messages, artifacts, status messages, a task's history) are
    /// filtered at once, a block turning the result into the guardrail denial; a stream's are
    /// filtered as its events pass (one artifact's chunks as one text). Cards and listings
    /// have no text.
    fn filter_text(&mut self, mut filter: Box<dyn TextFilter>) -> Result<(), Box<dyn TextFilter>> {
        match &mut self.reply {
            Reply::Stream(stream) => {
                stream.filter_text(filter);
                Ok(())
            }
            Reply::Result(value) => {
                if let Err(blocked) = crate::filter::filter_parts(value, filter.as_mut()) {
                    self.reply = Reply::Denied(Denied::guardrail_blocked(blocked.rule_id()));
                }
                Ok(())
            }
            Reply::Card { .. } | Reply::Agents(_) | Reply::Denied(_) => Err(filter),
        }
    }

    /// The data parts of a result (artifacts, messages, status messages; not a task's
    /// `history`, which holds what the client sent) are checked at once, a block turning the
    /// result into the guardrail denial; a stream's as each event passes.
    fn check_data(&mut self, mut check: Box<dyn DataCheck>) -> Result<(), Box<dyn DataCheck>> {
        match &mut self.reply {
            Reply::Stream(stream) => {
                stream.check_data(check);
                Ok(())
            }
            Reply::Result(value) => {
                if let Err(blocked) = crate::data::check_result(value, check.as_mut()) {
                    self.reply = Reply::Denied(blocked.to_denied());
                }
                Ok(())
            }
            Reply::Card { .. } | Reply::Agents(_) | Reply::Denied(_) => Err(check),
        }
    }

    fn retain_items(&mut self, keep: &mut dyn FnMut(&Item<'_>) -> bool) -> usize {
        let Reply::Agents(items) = &mut self.reply else {
            return 0;
        };
        let before = items.len();
        items.retain(|(name, value)| {
            keep(&Item {
                action: Action::AgentMessage,
                name,
                value,
            })
        });
        before - items.len()
    }
}
