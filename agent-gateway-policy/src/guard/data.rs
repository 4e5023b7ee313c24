//! Data schemas: the structured data an agent is sent and answers with (A2A data parts),
//! checked against the schemas the agent declares for each media type; see [`DataSchemas`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use agent_gateway_core::content::{Blocked, DataCheck, DataItem, DeclaredDataSchemas};
use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::{Action, AgentRequest, AgentResponse};
use serde_json::Value;

use super::pin::GUARDRAIL_WARNING_HEADER;
use super::schema::{Compiled, MAX_SCHEMA_BYTES, compile, mismatch, mismatch_at};
use super::scope::Mode;
use super::verdict::{Block, Exchange, Guardrail, Verdict};

/// The rule id of data sent to an agent that does not match the schema it accepts.
pub const DATA_IN_RULE: &str = "a2a.data-in";
/// The rule id of data an agent answers with that does not match the schema it returns.
pub const DATA_OUT_RULE: &str = "a2a.data-out";

/// How many agents' card declarations are kept compiled: a bound on the table, as for tools.
pub const MAX_DECLARING_AGENTS: usize = 1024;

/// One declaration, compiled: a schema per media type and direction, or why the declaration
/// cannot be used at all (then every data part is refused).
struct Schemas {
    accepts: HashMap<String, Arc<Compiled>>,
    returns: HashMap<String, Arc<Compiled>>,
    broken: Option<String>,
}

impl Schemas {
    fn compile(declaration: &Value, max_bytes: usize) -> Schemas {
        let mut schemas = Schemas {
            accepts: HashMap::new(),
            returns: HashMap::new(),
            broken: None,
        };
        if let Err(why) = schemas.fill(declaration, max_bytes) {
            schemas.broken = Some(why);
        }
        schemas
    }

    /// Compiles the shared schemas into both directions, then each direction's own over them.
    /// A schema that does not compile is kept as its error (its media type is refused); only
    /// a declaration of the wrong shape fails here.
    fn fill(&mut self, declaration: &Value, max_bytes: usize) -> Result<(), String> {
        let top = declaration
            .as_object()
            .ok_or("the declaration is not an object")?;
        let compiled = |map: &serde_json::Map<String, Value>| {
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "accepts" | "returns"))
                .map(|(media, schema)| match media.contains('/') {
                    true => Ok((
                        media.to_ascii_lowercase(),
                        Arc::new(compile(schema, max_bytes)),
                    )),
                    false => Err(format!("`{media}` is not a media type")),
                })
                .collect::<Result<Vec<_>, String>>()
        };
        for (media, schema) in compiled(top)? {
            self.accepts.insert(media.clone(), Arc::clone(&schema));
            self.returns.insert(media, schema);
        }
        for (direction, into) in [
            ("accepts", &mut self.accepts),
            ("returns", &mut self.returns),
        ] {
            if let Some(one) = top.get(direction) {
                let one = one
                    .as_object()
                    .ok_or(format!("`{direction}` is not an object"))?;
                into.extend(compiled(one)?);
            }
        }
        Ok(())
    }

    /// Why this declaration cannot be used, or which schema of it cannot be.
    fn problem(&self) -> Option<String> {
        if let Some(why) = &self.broken {
            return Some(why.clone());
        }
        self.accepts
            .iter()
            .chain(&self.returns)
            .find_map(|(media, compiled)| match &**compiled {
                Err(why) => Some(format!("{media}: {why}")),
                Ok(_) => None,
            })
    }
}

/// The card declarations seen, by agent: the declaration (recognised by its `Arc`) and its
/// compiled schemas.
type Cards = HashMap<String, (Arc<Value>, Arc<Schemas>)>;

#[derive(Debug, Default)]
struct Counts {
    warned: AtomicU64,
    blocked: AtomicU64,
}

/// Checks A2A data parts against the schemas their agent declares.
///
/// A declaration is a JSON object from media type to JSON Schema, applying both ways, with
/// optional `accepts` (data sent to the agent) and `returns` (data in its artifacts and
/// messages) objects of the same shape that win for their direction:
/// `{"application/json": {…}, "returns": {"application/vnd.quote+json": {…}}}`. It comes from
/// the operator ([`DataSchemas::with_agent`], which wins for that agent) or from the agent's
/// card, which the protocol front hands over as
/// [`DeclaredDataSchemas`] (for A2A, the card extension
/// `urn:agent-gateway:a2a:data-schemas:v1`; see `agent_gateway_a2a::data`). An agent that
/// declares nothing, and a media type without a schema, pass.
///
/// Schemas are compiled as [`SchemaCheck`](super::SchemaCheck)'s are (2020-12 by default,
/// offline, size- and depth-bounded, linear-time patterns, `format` skipped), once per
/// declaration: a card's is recognised by its `Arc` and compiled again only when the card
/// changes. A schema that cannot be compiled refuses the data of its media type (fail closed).
///
/// In [`Mode::Enforce`] a request whose data does not match is refused before the agent as
/// invalid params (JSON-RPC -32602, HTTP 400) under [`DATA_IN_RULE`], naming the part and the
/// schema path; an answer is refused with the guardrail denial under [`DATA_OUT_RULE`], a
/// stream ended with its error event when the event carrying the data passes (each event is
/// checked whole, nothing held back); that denial names the part and the schema path but does
/// not quote the refused data. In [`Mode::Warn`] the data passes, the mismatch is
/// logged and counted, and the answer carries `agw-guardrail-warning` naming the rule (on a
/// stream, once its headers are out, only the audit record's `warnings` do).
///
/// ```
/// use agent_gateway_core::{Action, AgentRequest, Call};
/// use agent_gateway_policy::guard::{DataSchemas, Guardrail, Verdict};
/// use serde_json::json;
///
/// let orders = json!({"accepts": {"application/json": {"type": "object", "required": ["sku"]}}});
/// let rail = DataSchemas::new().with_agent("orders", &orders).unwrap();
/// // A declaration that cannot be compiled is refused when configured.
/// let bad = json!({"application/json": {"type": 7}});
/// assert!(DataSchemas::new().with_agent("x", &bad).unwrap_err().contains("application/json"));
/// // A plain `Call` carries no data parts: nothing to check.
/// let mut call = Call::new(Action::AgentMessage, json!({})).with_target("orders");
/// assert_eq!(rail.on_request(&mut call), Verdict::Pass);
/// ```
#[derive(Clone)]
pub struct DataSchemas {
    mode: Mode,
    max_schema_bytes: usize,
    configured: Arc<HashMap<String, Arc<Schemas>>>,
    cards: Arc<RwLock<Cards>>,
    counts: Arc<Counts>,
}

impl Default for DataSchemas {
    fn default() -> Self {
        DataSchemas::new()
    }
}

impl fmt::Debug for DataSchemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut configured: Vec<&String> = self.configured.keys().collect();
        configured.sort();
        f.debug_struct("DataSchemas")
            .field("mode", &self.mode)
            .field("configured", &configured)
            .field("warned", &self.warnings())
            .field("blocked", &self.blocks())
            .finish_non_exhaustive()
    }
}

impl DataSchemas {
    /// An enforcing check that knows no declaration yet (cards bring theirs with each
    /// request).
    pub fn new() -> Self {
        DataSchemas {
            mode: Mode::Enforce,
            max_schema_bytes: MAX_SCHEMA_BYTES,
            configured: Arc::default(),
            cards: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// Runs in `mode`: [`Mode::Warn`] lets mismatched data pass, flagged.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Compiles schemas of at most `bytes` encoded bytes (default [`MAX_SCHEMA_BYTES`]).
    /// Set it before [`with_agent`](Self::with_agent).
    pub fn with_max_schema_bytes(mut self, bytes: usize) -> Self {
        self.max_schema_bytes = bytes;
        self
    }

    /// Declares `agent`'s schemas (see [`DataSchemas`] for the shape), in place of
    /// whatever its card declares. Fails, naming the media type, when the declaration or one
    /// of its schemas cannot be used.
    pub fn with_agent(mut self, agent: &str, declaration: &Value) -> Result<Self, String> {
        let schemas = Schemas::compile(declaration, self.max_schema_bytes);
        if let Some(why) = schemas.problem() {
            return Err(why);
        }
        Arc::make_mut(&mut self.configured).insert(agent.to_owned(), Arc::new(schemas));
        Ok(self)
    }

    /// How many mismatches were let through in warn mode.
    pub fn warnings(&self) -> u64 {
        self.counts.warned.load(Ordering::Relaxed)
    }

    /// How many requests and answers were refused.
    pub fn blocks(&self) -> u64 {
        self.counts.blocked.load(Ordering::Relaxed)
    }

    /// The schemas for a message to `request`'s agent: configured, else its card's.
    fn schemas_for(&self, request: &dyn AgentRequest) -> Option<Arc<Schemas>> {
        if request.protocol() != "a2a" || request.action() != Action::AgentMessage {
            return None;
        }
        let agent = request.target()?;
        if let Some(schemas) = self.configured.get(agent) {
            return Some(Arc::clone(schemas));
        }
        let declared = &request.extensions().get::<DeclaredDataSchemas>()?.0;
        let read = |cards: &Cards| {
            cards
                .get(agent)
                .filter(|(key, _)| Arc::ptr_eq(key, declared))
                .map(|(_, s)| Arc::clone(s))
        };
        if let Some(known) = read(&self.cards.read().unwrap_or_else(PoisonError::into_inner)) {
            return Some(known);
        }
        let schemas = Arc::new(Schemas::compile(declared, self.max_schema_bytes));
        if let Some(why) = schemas.problem() {
            tracing::warn!(agent, reason = %why, "data schemas: the agent's card declares a schema that cannot be used; its data is refused");
        }
        let mut cards = self.cards.write().unwrap_or_else(PoisonError::into_inner);
        if cards.contains_key(agent) || cards.len() < MAX_DECLARING_AGENTS {
            cards.insert(
                agent.to_owned(),
                (Arc::clone(declared), Arc::clone(&schemas)),
            );
        }
        Some(schemas)
    }

    fn check(&self, schemas: Arc<Schemas>, agent: &str, rule: &'static str) -> Check {
        Check {
            schemas,
            agent: agent.to_owned(),
            rule,
            mode: self.mode,
            counts: Arc::clone(&self.counts),
            headers: None,
        }
    }
}

/// What the response side of one message carries: its agent's schemas.
#[derive(Clone)]
struct Returns(Arc<Schemas>);

impl Guardrail for DataSchemas {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        let (Some(schemas), Some(agent)) = (self.schemas_for(request), request.target()) else {
            return Verdict::Pass;
        };
        let mut check = self.check(schemas, agent, DATA_IN_RULE);
        check.headers = request.extensions().get::<PolicyHeaders>().cloned();
        match request.check_data(&mut check) {
            Ok(()) => Verdict::Pass,
            Err(blocked) => Verdict::Block(Block::from(blocked).as_bad_request()),
        }
    }

    fn watches(&self, request: &dyn AgentRequest) -> bool {
        self.schemas_for(request)
            .is_some_and(|s| !s.returns.is_empty() || s.broken.is_some())
    }

    fn prepare(&self, request: &dyn AgentRequest, exchange: &mut Exchange) {
        if let Some(schemas) = self.schemas_for(request) {
            exchange.carry(Returns(schemas));
        }
    }

    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        let (Some(Returns(schemas)), Some(agent)) =
            (exchange.carried::<Returns>(), exchange.target())
        else {
            return Verdict::Pass;
        };
        let mut check = self.check(Arc::clone(schemas), agent, DATA_OUT_RULE);
        check.headers = exchange.policy_headers().cloned();
        // A response without data parts to check (an error, say) gives the check back.
        let _unused = response.check_data(Box::new(check));
        Verdict::Pass
    }
}

/// One message's check, one direction.
struct Check {
    schemas: Arc<Schemas>,
    agent: String,
    rule: &'static str,
    mode: Mode,
    counts: Arc<Counts>,
    headers: Option<PolicyHeaders>,
}

impl Check {
    fn mismatch(&self, item: &DataItem<'_>) -> Option<String> {
        let (agent, at, media) = (&self.agent, item.at, item.media_type);
        if let Some(why) = &self.schemas.broken {
            return Some(format!(
                "agent {agent}: its data schemas cannot be used ({why}); data part {at} refused"
            ));
        }
        let (schemas, direction) = match self.rule {
            DATA_IN_RULE => (&self.schemas.accepts, "accepted"),
            _ => (&self.schemas.returns, "returned"),
        };
        match &**schemas.get(media)? {
            Err(why) => Some(format!(
                "agent {agent}: data part {at} ({media}): its {direction} schema cannot be used: {why}"
            )),
            // What the agent answers is refused without being quoted back.
            Ok(validator) => match self.rule {
                DATA_IN_RULE => mismatch(validator, item.data),
                _ => mismatch_at(validator, item.data),
            }
            .map(|why| {
                format!(
                    "agent {agent}: data part {at} ({media}) does not match its {direction} schema {why}"
                )
            }),
        }
    }
}

impl DataCheck for Check {
    fn check(&mut self, item: &DataItem<'_>) -> Result<(), Blocked> {
        let Some(why) = self.mismatch(item) else {
            return Ok(());
        };
        if self.mode == Mode::Warn {
            self.counts.warned.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(rule = self.rule, agent = %self.agent, reason = %why,
                "guardrail: data part does not match its schema (warn mode)");
            if let Some(headers) = &self.headers {
                headers.warn(&GUARDRAIL_WARNING_HEADER, self.rule);
            }
            return Ok(());
        }
        self.counts.blocked.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(rule = self.rule, agent = %self.agent, "guardrail: data part refused");
        Err(Blocked::new(self.rule).with_message(why))
    }
}
