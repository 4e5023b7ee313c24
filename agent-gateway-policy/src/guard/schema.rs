//! Schema checks: a tool call's arguments against the tool's `inputSchema`, and its
//! `structuredContent` against the tool's `outputSchema`, both learned from `tools/list`.
//!
//! Schemas come from upstreams and are untrusted. Each is size- and depth-checked before it is
//! compiled; compiling fetches no `$ref` (the validator is offline), uses the `regex` crate's
//! linear-time engine for `pattern` (no ReDoS), and skips `format`. A schema with no `$schema`
//! is JSON Schema 2020-12, the MCP default. A tool's validators are compiled once per version
//! of its schemas (a digest of them) and shared until a listing shows a new version.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use agent_gateway_core::{Action, AgentRequest, AgentResponse};
use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::Value;

use super::json::{deeper_than, digest, encoded_len};
use super::verdict::{Exchange, Guardrail, Verdict};

/// The rule id of arguments that do not match the tool's `inputSchema`.
pub const INPUT_RULE: &str = "input-schema";
/// The rule id of `structuredContent` that does not match the tool's `outputSchema`.
pub const OUTPUT_RULE: &str = "output-schema";

/// How many tools' schemas are kept by default. A federation of a few dozen servers lists a
/// few hundred tools; the bound only stops an upstream that lists without end from growing
/// the table without end. Configurable with [`SchemaCheck::with_max_tools`].
pub const MAX_TOOLS: usize = 4096;

/// The largest schema compiled by default, in encoded bytes. Real tool schemas are a few KiB;
/// compiling is linear in the schema, and this keeps one hostile listing from costing more
/// than a few milliseconds. Configurable with [`SchemaCheck::with_max_schema_bytes`].
pub const MAX_SCHEMA_BYTES: usize = 256 * 1024;

/// The deepest schema compiled: arrays and objects nested 64 levels are far beyond any real
/// schema, and the validator recurses on nesting.
pub const MAX_SCHEMA_DEPTH: usize = 64;

/// A compiled schema, or why the tool's schema could not be used.
pub(super) type Compiled = Result<Validator, String>;

/// One tool's compiled schemas, for one version of them.
struct ToolSchemas {
    version: [u8; 32],
    input: Compiled,
    output: Option<Compiled>,
}

struct Catalog {
    tools: RwLock<HashMap<String, Arc<ToolSchemas>>>,
    settings: Settings,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    max_tools: usize,
    max_schema_bytes: usize,
    require_known: bool,
}

/// Checks tool calls against the schemas their tools declare; see the [guard module](super).
///
/// The schemas are learned from the `tools/list` responses that pass through the layer, keyed
/// by the tool name the client uses. A call to a tool not listed yet passes (the upstream
/// still checks it) unless [`with_require_known`](SchemaCheck::with_require_known) is set.
/// A tool whose schema cannot be used (too large, too deep, not a valid schema) has its
/// calls refused: the check fails closed.
#[derive(Clone)]
pub struct SchemaCheck {
    catalog: Arc<Catalog>,
}

impl Default for SchemaCheck {
    fn default() -> Self {
        SchemaCheck::new()
    }
}

impl fmt::Debug for SchemaCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaCheck")
            .field("tools", &self.len())
            .field("max_tools", &self.catalog.settings.max_tools)
            .field("require_known", &self.catalog.settings.require_known)
            .finish()
    }
}

impl SchemaCheck {
    /// A check that knows no schema yet.
    pub fn new() -> Self {
        SchemaCheck::with_settings(Settings {
            max_tools: MAX_TOOLS,
            max_schema_bytes: MAX_SCHEMA_BYTES,
            require_known: false,
        })
    }

    /// A check with `settings`, knowing no schema yet (the builder methods start afresh).
    fn with_settings(settings: Settings) -> Self {
        SchemaCheck {
            catalog: Arc::new(Catalog {
                tools: RwLock::new(HashMap::new()),
                settings,
            }),
        }
    }

    /// Keeps the schemas of at most `n` tools (default [`MAX_TOOLS`]).
    pub fn with_max_tools(self, n: usize) -> Self {
        let settings = Settings {
            max_tools: n,
            ..self.catalog.settings
        };
        SchemaCheck::with_settings(settings)
    }

    /// Compiles schemas of at most `bytes` encoded bytes (default [`MAX_SCHEMA_BYTES`]).
    pub fn with_max_schema_bytes(self, bytes: usize) -> Self {
        let settings = Settings {
            max_schema_bytes: bytes,
            ..self.catalog.settings
        };
        SchemaCheck::with_settings(settings)
    }

    /// Refuses calls to tools whose schema is not known yet (no listing seen), instead of
    /// letting them pass.
    pub fn with_require_known(self, yes: bool) -> Self {
        let settings = Settings {
            require_known: yes,
            ..self.catalog.settings
        };
        SchemaCheck::with_settings(settings)
    }

    /// How many tools' schemas are known.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no schema is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Learns the schemas of the tool the client calls `name`, from `tool` (a `tools/list`
    /// item), compiling them unless this version is known already.
    pub fn learn(&self, name: &str, tool: &Value) {
        let input = tool.get("inputSchema").unwrap_or(&Value::Null);
        let output = tool.get("outputSchema");
        let version = version_of(input, output);
        {
            let tools = self.read();
            let known = tools.get(name);
            if known.is_some_and(|t| t.version == version) {
                return;
            }
            if known.is_none() && tools.len() >= self.catalog.settings.max_tools {
                tracing::warn!(
                    tool = name,
                    "schema check: tool table full, schema not kept"
                );
                return;
            }
        }
        let max = self.catalog.settings.max_schema_bytes;
        let compiled = ToolSchemas {
            version,
            input: compile(input, max),
            output: output.map(|o| compile(o, max)),
        };
        let mut tools = self
            .catalog
            .tools
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if tools.contains_key(name) || tools.len() < self.catalog.settings.max_tools {
            tools.insert(name.to_owned(), Arc::new(compiled));
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ToolSchemas>>> {
        self.catalog
            .tools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn schemas(&self, tool: &str) -> Option<Arc<ToolSchemas>> {
        self.read().get(tool).cloned()
    }

    /// Checks `arguments` (absent: the empty object) for a call of `tool`.
    pub fn check_arguments(&self, tool: &str, arguments: Option<&Value>) -> Verdict {
        let Some(schemas) = self.schemas(tool) else {
            return if self.catalog.settings.require_known {
                Verdict::block_with(
                    INPUT_RULE,
                    format!("tool {tool}: no inputSchema known yet; list the tools first"),
                )
            } else {
                Verdict::Pass
            };
        };
        let empty = Value::Object(serde_json::Map::new());
        check(
            &schemas.input,
            arguments.unwrap_or(&empty),
            INPUT_RULE,
            tool,
            "arguments",
            "inputSchema",
        )
    }

    /// Checks the `structuredContent` of a `tools/call` result of `tool`, if its tool declares
    /// an `outputSchema` and the result is not an error.
    pub fn check_output(&self, tool: &str, result: &Value) -> Verdict {
        let Some(schemas) = self.schemas(tool) else {
            return Verdict::Pass;
        };
        let (Some(output), Some(content)) = (&schemas.output, result.get("structuredContent"))
        else {
            return Verdict::Pass;
        };
        if result.get("isError") == Some(&Value::Bool(true)) {
            return Verdict::Pass;
        }
        check(
            output,
            content,
            OUTPUT_RULE,
            tool,
            "structuredContent",
            "outputSchema",
        )
    }
}

/// The version of a tool's schemas: a digest of both.
fn version_of(input: &Value, output: Option<&Value>) -> [u8; 32] {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(&digest(input));
    both[32..].copy_from_slice(&digest(output.unwrap_or(&Value::Null)));
    let mut version = [0u8; 32];
    version.copy_from_slice(&sha2::Sha256::digest(both));
    version
}

use sha2::Digest as _;

/// Compiles an untrusted schema with the limits of the [guard module](super).
pub(super) fn compile(schema: &Value, max_bytes: usize) -> Compiled {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("the schema is not a JSON Schema object".to_owned());
    }
    if encoded_len(schema) > max_bytes {
        return Err(format!("the schema is larger than {max_bytes} bytes"));
    }
    if deeper_than(schema, MAX_SCHEMA_DEPTH) {
        return Err(format!(
            "the schema nests deeper than {MAX_SCHEMA_DEPTH} levels"
        ));
    }
    let mut options = jsonschema::options()
        .offline()
        .with_pattern_options(PatternOptions::regex())
        .should_validate_formats(false);
    if schema.get("$schema").is_none() {
        options = options.with_draft(Draft::Draft202012);
    }
    options
        .build(schema)
        .map_err(|e| format!("the schema is invalid: {e}"))
}

/// The verdict of `compiled` on `instance`, naming the schema path of the first error.
fn check(
    compiled: &Compiled,
    instance: &Value,
    rule: &str,
    tool: &str,
    what: &str,
    schema_name: &str,
) -> Verdict {
    let validator = match compiled {
        Ok(validator) => validator,
        Err(why) => {
            return Verdict::block_with(
                rule.to_owned(),
                format!("tool {tool}: its {schema_name} cannot be used: {why}"),
            );
        }
    };
    // An output refused on its way to the client is not quoted back in the denial.
    let first = if rule == OUTPUT_RULE {
        mismatch_at(validator, instance)
    } else {
        mismatch(validator, instance)
    };
    match first {
        None => Verdict::Pass,
        Some(why) => Verdict::block_with(
            rule.to_owned(),
            format!("tool {tool}: {what} do not match its {schema_name} {why}"),
        ),
    }
}

/// Where `instance` first fails `validator`: "at schema path … (instance path …): error".
pub(super) fn mismatch(validator: &Validator, instance: &Value) -> Option<String> {
    let error = validator.iter_errors(instance).next()?;
    Some(format!(
        "at schema path {} (instance path {}): {}",
        or_root(error.schema_path().as_str()),
        or_root(error.instance_path().as_str()),
        error,
    ))
}

/// Where `instance` first fails `validator`, without the error's text (which quotes the
/// instance): for content refused on its way to the client, whose data must not leak in the
/// denial.
pub(super) fn mismatch_at(validator: &Validator, instance: &Value) -> Option<String> {
    let error = validator.iter_errors(instance).next()?;
    Some(format!(
        "at schema path {} (instance path {})",
        or_root(error.schema_path().as_str()),
        or_root(error.instance_path().as_str()),
    ))
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

impl Guardrail for SchemaCheck {
    fn on_request(&self, request: &mut dyn AgentRequest) -> Verdict {
        if request.protocol() != "mcp" || request.action() != Action::ToolCall {
            return Verdict::Pass;
        }
        let Some(tool) = request.target() else {
            return Verdict::Pass;
        };
        self.check_arguments(tool, request.arguments())
    }

    /// Tool listings (to learn the schemas) and tool calls (to check `structuredContent`).
    fn watches(&self, request: &dyn AgentRequest) -> bool {
        request.protocol() == "mcp"
            && matches!(request.action(), Action::ListTools | Action::ToolCall)
    }

    fn on_response(&self, exchange: &Exchange, response: &mut dyn AgentResponse) -> Verdict {
        if exchange.protocol() != "mcp" {
            return Verdict::Pass;
        }
        match (exchange.action(), exchange.target()) {
            (Action::ListTools, _) => {
                response.retain_items(&mut |item| {
                    if item.action == Action::ToolCall {
                        self.learn(item.name, item.value);
                    }
                    true
                });
                Verdict::Pass
            }
            (Action::ToolCall, Some(tool)) => match response.output() {
                Some(result) => self.check_output(tool, result),
                None => Verdict::Pass,
            },
            _ => Verdict::Pass,
        }
    }
}
