//! The `[[guardrails]]` sections: each guardrail's kind, scope (protocols, callers, target
//! globs), mode and options, checked and compiled when the file is read.
//!
//! ```toml
//! [[guardrails]]
//! id = "schemas"
//! kind = "schema"                 # schema | deny | size | pin | pii | tool_calls | data_schema
//! protocols = ["mcp"]
//!
//! [[guardrails]]
//! id = "no-secrets"
//! kind = "deny"
//! mode = "warn"                   # enforce (default) | warn
//! targets = ["fs__*"]
//! rules = [{ id = "aws-key", regex = "AKIA[0-9A-Z]{16}" }, { id = "drop", keyword = "drop table" }]
//!
//! [[guardrails]]
//! id = "sizes"
//! kind = "size"
//! max_field_bytes = 65536
//! max_total_bytes = 1048576
//! oversize = "trim"               # reject (default) | trim
//!
//! [[guardrails]]
//! id = "pins"
//! kind = "pin"
//! pin_mode = "block"              # block (default) | flag
//! pins = { "fs__read_file" = "<64 hex digits>" }
//!
//! [[guardrails]]
//! id = "pii"
//! kind = "pii"
//! on_requests = true              # both sides by default (also for `deny`)
//! # detector label = detect | redact | block; rule ids are `pii.{label}`.
//! # Left out: every detector, redacting.
//! pii = { email = "redact", payment_card = "redact", openai_key = "block" }
//!
//! [[guardrails]]
//! id = "model-tool-calls"
//! kind = "tool_calls"             # a model's tool calls against the request's own tools
//! mode = "enforce"                # warn (the default for this kind) | enforce
//!
//! [[guardrails]]
//! id = "agent-data"
//! kind = "data_schema"            # A2A data parts against the schemas their agent declares
//! targets = ["orders"]            # agents; mode enforce (default) | warn
//! ```
//!
//! A `data_schema` guardrail checks the data parts of messages sent to an agent, and of its
//! artifacts and messages (on streams event by event), against the schemas the agent declares
//! per media type: in its card's extension `urn:agent-gateway:a2a:data-schemas:v1`
//! ([`agent_gateway_a2a::data`]), or in `[[a2a.agents]]` as `data_schemas` (inline) or
//! `data_schemas_file` (a JSON file), which wins over the card for that agent:
//!
//! ```toml
//! [[a2a.agents]]
//! name = "orders"
//! data_schemas = { accepts = { "application/json" = { type = "object", required = ["sku"] } } }
//! ```
//!
//! With such a guardrail the A2A front reads each message's agent card (cached) before the
//! policy layers. A refused message is invalid params (JSON-RPC -32602, HTTP 400, rule
//! `a2a.data-in`) and never reaches the agent; a refused answer is the guardrail denial
//! (`a2a.data-out`), or a stream's error event.
//!
//! A `pii` guardrail compiles its rules once, when the layer is built at start-up.

mod file;
#[cfg(test)]
mod tests;

use agent_gateway_policy::guard::pii::{PiiGuard, PiiRule};
use agent_gateway_policy::guard::{
    DataSchemas, DenyRules, GuardLayer, Mode, PinMode, Pins, SchemaCheck, Scope, Scoped,
    SizeLimits, ToolCallSchemas, ToolDigest,
};

use super::{A2aConfig, ConfigError};
pub(super) use file::FileGuardrail;

/// One configured guardrail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GuardrailConfig {
    /// Its id, in logs.
    pub id: String,
    /// Enforced or warn-only.
    pub mode: Mode,
    /// Where it applies.
    pub scope: Scope,
    /// What it checks.
    pub kind: GuardrailKind,
}

/// What a guardrail checks, with its options.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GuardrailKind {
    /// Tool arguments and structured output against the tools' schemas.
    Schema {
        /// Refuse calls to tools not listed yet.
        require_known: bool,
    },
    /// Keyword and regex deny rules, compiled.
    Deny(DenyRules),
    /// Size limits.
    Size(SizeLimits),
    /// Tool-definition pinning.
    Pin {
        /// Flag or block changes.
        mode: PinMode,
        /// Digests pinned in the file, by tool name.
        pins: Vec<(String, ToolDigest)>,
    },
    /// PII detection and redaction: the rules (compiled when the layer is built) and the
    /// sides they guard.
    Pii {
        /// The rules, `pii.{label}` each.
        rules: Vec<PiiRule>,
        /// Request arguments are guarded.
        on_requests: bool,
        /// Response outputs and streamed text are guarded.
        on_responses: bool,
    },
    /// A model's tool calls against the request's own tool definitions, in the guardrail's
    /// mode (warn by default for this kind).
    ToolCalls,
    /// A2A data parts against the schemas their agent declares (card or `[[a2a.agents]]`).
    DataSchema,
}

/// The guard layer built from the configured guardrails, and the pin table if one is
/// configured (for the admin router).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Guardrails {
    /// The layer, guardrails in file order.
    pub layer: GuardLayer,
    /// The pins, shared with the layer.
    pub pins: Option<Pins>,
    /// Whether a `data_schema` guardrail wants the agents' cards read before the policy
    /// layers ([`A2aFrontConfig::with_card_schemas`](agent_gateway_a2a::A2aFrontConfig::with_card_schemas)).
    pub card_schemas: bool,
}

impl Guardrails {
    /// Builds the layer from `configs`, with no agent declaring data schemas in config.
    pub fn build(configs: &[GuardrailConfig]) -> Result<Guardrails, ConfigError> {
        Guardrails::build_with(configs, None)
    }

    /// Builds the layer from `configs`, a `data_schema` guardrail taking the data schemas the
    /// `[[a2a.agents]]` of `a2a` declare (files read here).
    pub fn build_with(
        configs: &[GuardrailConfig],
        a2a: Option<&A2aConfig>,
    ) -> Result<Guardrails, ConfigError> {
        Guardrails::build_keeping(configs, a2a, None)
    }

    /// As [`build_with`](Self::build_with), a `pin` guardrail using `pins` (a table kept across
    /// a reload, with its approvals) instead of a new table from its settings.
    pub fn build_keeping(
        configs: &[GuardrailConfig],
        a2a: Option<&A2aConfig>,
        kept: Option<Pins>,
    ) -> Result<Guardrails, ConfigError> {
        let mut layer = GuardLayer::new();
        let mut pins = None;
        let mut card_schemas = false;
        for c in configs {
            let scoped = |g| {
                Scoped::new(&c.id, g)
                    .with_scope(c.scope.clone())
                    .with_mode(c.mode)
            };
            layer = match &c.kind {
                GuardrailKind::Schema { require_known } => layer.with(scoped(Guard::Schema(
                    SchemaCheck::new().with_require_known(*require_known),
                ))),
                GuardrailKind::Deny(rules) => layer.with(scoped(Guard::Deny(rules.clone()))),
                GuardrailKind::Size(limits) => layer.with(scoped(Guard::Size(limits.clone()))),
                GuardrailKind::Pin { mode, pins: pinned } => {
                    if pins.is_some() {
                        return Err(bad("guardrails.kind", "only one `pin` guardrail".into()));
                    }
                    let table = kept.clone().unwrap_or_else(|| {
                        pinned.iter().fold(Pins::new(*mode), |p, (tool, digest)| {
                            p.with_pin(tool, *digest)
                        })
                    });
                    pins = Some(table.clone());
                    layer.with(scoped(Guard::Pin(table)))
                }
                GuardrailKind::Pii {
                    rules,
                    on_requests,
                    on_responses,
                } => {
                    // Compiled here, once, at start-up: never per request.
                    let guard = PiiGuard::new(rules.iter().cloned())
                        .on_requests(*on_requests)
                        .on_responses(*on_responses);
                    layer.with(scoped(Guard::Pii(guard)))
                }
                GuardrailKind::ToolCalls => layer.with(scoped(Guard::ToolCalls(
                    ToolCallSchemas::new().with_mode(c.mode),
                ))),
                GuardrailKind::DataSchema => {
                    card_schemas = true;
                    let schemas = data_schemas(a2a)?.with_mode(c.mode);
                    layer.with(scoped(Guard::Data(schemas)))
                }
            };
        }
        Ok(Guardrails {
            layer,
            pins,
            card_schemas,
        })
    }
}

/// A data-schema check holding the declarations of `a2a`'s agents.
pub(crate) fn data_schemas(a2a: Option<&A2aConfig>) -> Result<DataSchemas, ConfigError> {
    let agents = a2a.map(|a| a.agents.as_slice()).unwrap_or_default();
    agents
        .iter()
        .try_fold(DataSchemas::new(), |schemas, agent| {
            let Some(source) = &agent.data_schemas else {
                return Ok(schemas);
            };
            let reason = |why: String| format!("agent `{}`: {why}", agent.name);
            let declaration = source
                .load()
                .map_err(|why| bad("a2a.agents.data_schemas", reason(why)))?;
            schemas
                .with_agent(&agent.name, &declaration)
                .map_err(|why| bad("a2a.agents.data_schemas", reason(why)))
        })
}

/// The built-in guardrails as one type, so each can be scoped the same way.
#[derive(Debug, Clone)]
enum Guard {
    Schema(SchemaCheck),
    Deny(DenyRules),
    Size(SizeLimits),
    Pin(Pins),
    Pii(PiiGuard),
    ToolCalls(ToolCallSchemas),
    Data(DataSchemas),
}

impl Guard {
    fn get(&self) -> &dyn agent_gateway_policy::guard::Guardrail {
        match self {
            Guard::Schema(g) => g,
            Guard::Deny(g) => g,
            Guard::Size(g) => g,
            Guard::Pin(g) => g,
            Guard::Pii(g) => g,
            Guard::ToolCalls(g) => g,
            Guard::Data(g) => g,
        }
    }
}

impl agent_gateway_policy::guard::Guardrail for Guard {
    fn on_request(
        &self,
        request: &mut dyn agent_gateway_core::AgentRequest,
    ) -> agent_gateway_policy::guard::Verdict {
        self.get().on_request(request)
    }

    fn on_response(
        &self,
        exchange: &agent_gateway_policy::guard::Exchange,
        response: &mut dyn agent_gateway_core::AgentResponse,
    ) -> agent_gateway_policy::guard::Verdict {
        self.get().on_response(exchange, response)
    }

    fn watches(&self, request: &dyn agent_gateway_core::AgentRequest) -> bool {
        self.get().watches(request)
    }

    fn prepare(
        &self,
        request: &dyn agent_gateway_core::AgentRequest,
        exchange: &mut agent_gateway_policy::guard::Exchange,
    ) {
        self.get().prepare(request, exchange);
    }

    fn text_filter(
        &self,
        exchange: &agent_gateway_policy::guard::Exchange,
    ) -> Option<Box<dyn agent_gateway_core::content::TextFilter>> {
        self.get().text_filter(exchange)
    }
}

fn bad(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Value { key, reason }
}
