//! Tool-call schemas: the tool calls a model answers with, checked against the tools the
//! request itself offered (OpenAI `tools[].function.parameters`, Responses
//! `tools[].parameters`, Anthropic `tools[].input_schema`).
//!
//! The request's schemas are compiled once per request, only when this guardrail is in scope
//! and the request offers tools, and carried to the response side in the [`Exchange`]. A whole
//! answer's calls are checked at once; a stream's as each call's arguments complete, while its
//! text passes unheld. Models get arguments wrong often enough that the default is to warn
//! (log at warn level with the rule id, count it) and let the answer pass; in
//! [`Mode::Enforce`] the answer is refused with the protocol's denial, or the stream ended
//! with its error event, naming the rule and the schema path.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_gateway_core::content::{Blocked, ToolCall, ToolCallCheck};
use agent_gateway_core::{Action, AgentRequest, AgentResponse};

use super::schema::{Compiled, MAX_SCHEMA_BYTES, compile, mismatch};
use super::scope::Mode;
use super::verdict::{Exchange, Guardrail, Verdict};

/// The rule id of a model's tool call whose arguments do not match the schema the request
/// gave the tool, are not JSON, or name a tool the request did not offer.
pub const TOOL_CALL_RULE: &str = "llm.tool-args";

/// The offered tools' compiled schemas, by name, for one request.
struct Offered(HashMap<String, Option<Compiled>>);

#[derive(Debug, Default)]
struct Counts {
    warned: AtomicU64,
    blocked: AtomicU64,
}

/// Checks a model's tool calls against the request's own tool definitions, compiled once
/// per request (only when in scope and the request offers tools); warns by default, and in
/// [`Mode::Enforce`] refuses the answer (or ends the stream) naming the rule and schema path.
///
/// ```
/// use agent_gateway_core::content::{ToolCall, ToolCallCheck};
/// use agent_gateway_core::response::Reply;
/// use agent_gateway_core::{Action, AgentRequest, Call};
/// use agent_gateway_policy::guard::{Exchange, Guardrail, Mode, ToolCallSchemas};
/// use serde_json::json;
///
/// // The seam's `offered_tools` comes from the protocol (an LLM request's `tools`); a plain
/// // `Call` offers none, so nothing is prepared and the rail does not watch it.
/// let rail = ToolCallSchemas::new().with_mode(Mode::Enforce);
/// let call = Call::new(Action::ModelCall, json!({})).with_target("gpt");
/// assert!(!rail.watches(&call));
/// let mut exchange = Exchange::of(&call);
/// rail.prepare(&call, &mut exchange);
/// assert_eq!(rail.warnings(), 0);
/// ```
#[derive(Clone)]
pub struct ToolCallSchemas {
    mode: Mode,
    max_schema_bytes: usize,
    counts: Arc<Counts>,
}

impl Default for ToolCallSchemas {
    fn default() -> Self {
        ToolCallSchemas::new()
    }
}

impl fmt::Debug for ToolCallSchemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolCallSchemas")
            .field("mode", &self.mode)
            .field("warned", &self.warnings())
            .field("blocked", &self.blocks())
            .finish()
    }
}

impl ToolCallSchemas {
    /// A check in warn mode: a mismatch is logged and counted, and the answer passes.
    pub fn new() -> Self {
        ToolCallSchemas {
            mode: Mode::Warn,
            max_schema_bytes: MAX_SCHEMA_BYTES,
            counts: Arc::default(),
        }
    }

    /// Runs in `mode`: [`Mode::Enforce`] refuses an answer with a mismatched call.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Compiles schemas of at most `bytes` encoded bytes (default [`MAX_SCHEMA_BYTES`]); a
    /// larger one cannot be used, and calls of its tool count as mismatched.
    pub fn with_max_schema_bytes(mut self, bytes: usize) -> Self {
        self.max_schema_bytes = bytes;
        self
    }

    /// How many mismatched calls were let through in warn mode.
    pub fn warnings(&self) -> u64 {
        self.counts.warned.load(Ordering::Relaxed)
    }

    /// How many answers were refused for a mismatched call.
    pub fn blocks(&self) -> u64 {
        self.counts.blocked.load(Ordering::Relaxed)
    }
}

fn applies(request: &dyn AgentRequest) -> bool {
    request.protocol() == "llm" && request.action() == Action::ModelCall
}

impl Guardrail for ToolCallSchemas {
    fn watches(&self, request: &dyn AgentRequest) -> bool {
        applies(request) && !request.offered_tools().is_empty()
    }

    fn prepare(&self, request: &dyn AgentRequest, exchange: &mut Exchange) {
        if !applies(request) {
            return;
        }
        let tools = request.offered_tools();
        if tools.is_empty() {
            return;
        }
        let compiled = tools
            .into_iter()
            .map(|tool| {
                let schema = tool.schema.map(|s| compile(s, self.max_schema_bytes));
                (tool.name.to_owned(), schema)
            })
            .collect();
        exchange.carry(Arc::new(Offered(compiled)));
    }

    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if let Some(offered) = exchange.carried::<Arc<Offered>>() {
            let check = Check {
                offered: Arc::clone(offered),
                mode: self.mode,
                counts: Arc::clone(&self.counts),
            };
            // A response without calls to check (an error, say) gives the check back.
            let _unused = response.check_tool_calls(Box::new(check));
        }
        Verdict::Pass
    }
}

/// One answer's check, holding the request's compiled schemas.
struct Check {
    offered: Arc<Offered>,
    mode: Mode,
    counts: Arc<Counts>,
}

impl Check {
    /// Why `call` does not match what the request offered, if it does not.
    fn mismatch(&self, call: &ToolCall<'_>) -> Option<String> {
        let name = call.name;
        let Some(schema) = self.offered.0.get(name) else {
            return Some(format!("tool {name} is not among the request's tools"));
        };
        let Some(arguments) = call.arguments else {
            return Some(format!("tool {name}: its arguments are not JSON"));
        };
        match schema {
            None => None,
            Some(Err(why)) => Some(format!("tool {name}: its schema cannot be used: {why}")),
            Some(Ok(validator)) => mismatch(validator, arguments)
                .map(|why| format!("tool {name}: arguments do not match its schema {why}")),
        }
    }
}

impl ToolCallCheck for Check {
    fn check(&mut self, call: &ToolCall<'_>) -> Result<(), Blocked> {
        let Some(why) = self.mismatch(call) else {
            return Ok(());
        };
        if self.mode == Mode::Warn {
            self.counts.warned.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(rule = TOOL_CALL_RULE, tool = call.name, reason = %why,
                "guardrail: model tool call does not match its schema (warn mode)");
            return Ok(());
        }
        self.counts.blocked.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            rule = TOOL_CALL_RULE,
            tool = call.name,
            "guardrail: model tool call blocked"
        );
        Err(Blocked::new(TOOL_CALL_RULE).with_message(why))
    }
}
