//! The `[[guardrails]]` sections: each guardrail's kind, scope (protocols, callers, target
//! globs), mode and options, checked and compiled when the file is read.
//!
//! ```toml
//! [[guardrails]]
//! id = "schemas"
//! kind = "schema"                 # schema | deny | size | pin | pii | tool_calls
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
//! ```
//!
//! A `pii` guardrail compiles its rules once, when the layer is built at start-up.

mod file;
#[cfg(test)]
mod tests;

use agent_gateway_policy::guard::pii::{PiiGuard, PiiRule};
use agent_gateway_policy::guard::{
    DenyRules, GuardLayer, Mode, PinMode, Pins, SchemaCheck, Scope, Scoped, SizeLimits,
    ToolCallSchemas, ToolDigest,
};

use super::ConfigError;
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
}

impl Guardrails {
    /// Builds the layer from `configs`.
    pub fn build(configs: &[GuardrailConfig]) -> Result<Guardrails, ConfigError> {
        let mut layer = GuardLayer::new();
        let mut pins = None;
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
                    let table = pinned.iter().fold(Pins::new(*mode), |p, (tool, digest)| {
                        p.with_pin(tool, *digest)
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
            };
        }
        Ok(Guardrails { layer, pins })
    }
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
