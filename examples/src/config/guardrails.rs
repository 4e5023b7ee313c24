//! The `[[guardrails]]` sections: each guardrail's kind, scope (protocols, callers, target
//! globs), mode and options, checked and compiled when the file is read.
//!
//! ```toml
//! [[guardrails]]
//! id = "schemas"
//! kind = "schema"                 # schema | deny | size | pin | pii
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
//! ```

use std::collections::BTreeMap;

use agent_gateway_policy::guard::{
    DenyRules, GuardLayer, Mode, Oversize, PinMode, Pins, SchemaCheck, Scope, Scoped, SizeLimits,
    ToolDigest,
};
use serde::Deserialize;

use super::ConfigError;

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
    /// PII detection and redaction; its options are read by the PII guardrail.
    Pii(toml::Table),
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
                GuardrailKind::Pii(_) => {
                    // Fail closed: a configured PII guardrail that this build cannot run must
                    // not silently let personal data through.
                    return Err(bad(
                        "guardrails.kind",
                        format!(
                            "guardrail {}: the `pii` guardrail is not available in this build",
                            c.id
                        ),
                    ));
                }
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
}

impl Guard {
    fn get(&self) -> &dyn agent_gateway_policy::guard::Guardrail {
        match self {
            Guard::Schema(g) => g,
            Guard::Deny(g) => g,
            Guard::Size(g) => g,
            Guard::Pin(g) => g,
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
}

/// One `[[guardrails]]` entry as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileGuardrail {
    id: String,
    kind: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    protocols: Vec<String>,
    #[serde(default)]
    callers: Vec<String>,
    #[serde(default)]
    targets: Vec<String>,
    // schema
    require_known: Option<bool>,
    // deny
    #[serde(default)]
    rules: Vec<FileDenyRule>,
    on_requests: Option<bool>,
    on_responses: Option<bool>,
    // size
    max_field_bytes: Option<usize>,
    max_total_bytes: Option<usize>,
    oversize: Option<String>,
    // pin
    pin_mode: Option<String>,
    #[serde(default)]
    pins: BTreeMap<String, String>,
    // pii: read by the PII guardrail
    pii: Option<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDenyRule {
    id: String,
    keyword: Option<String>,
    regex: Option<String>,
}

fn bad(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Value { key, reason }
}

impl TryFrom<FileGuardrail> for GuardrailConfig {
    type Error = ConfigError;

    fn try_from(f: FileGuardrail) -> Result<Self, ConfigError> {
        let mode = match f.mode.as_deref() {
            None | Some("enforce") => Mode::Enforce,
            Some("warn") => Mode::Warn,
            Some(other) => {
                return Err(bad(
                    "guardrails.mode",
                    format!("`{other}` is neither enforce nor warn"),
                ));
            }
        };
        let scope = Scope::all()
            .with_protocols(f.protocols.iter().cloned())
            .with_callers(&f.callers)
            .with_targets(&f.targets);
        let stray = |present: bool, key: &'static str| {
            if present {
                Err(bad(
                    key,
                    format!("does not apply to a `{}` guardrail", f.kind),
                ))
            } else {
                Ok(())
            }
        };
        let kind_is = |k: &str| f.kind == k;
        stray(
            f.require_known.is_some() && !kind_is("schema"),
            "guardrails.require_known",
        )?;
        stray(
            (!f.rules.is_empty() || f.on_requests.is_some() || f.on_responses.is_some())
                && !kind_is("deny"),
            "guardrails.rules",
        )?;
        stray(
            (f.max_field_bytes.is_some() || f.max_total_bytes.is_some() || f.oversize.is_some())
                && !kind_is("size"),
            "guardrails.max_field_bytes",
        )?;
        stray(
            (f.pin_mode.is_some() || !f.pins.is_empty()) && !kind_is("pin"),
            "guardrails.pins",
        )?;
        stray(f.pii.is_some() && !kind_is("pii"), "guardrails.pii")?;
        let kind = match f.kind.as_str() {
            "schema" => GuardrailKind::Schema {
                require_known: f.require_known.unwrap_or(false),
            },
            "deny" => GuardrailKind::Deny(deny_rules(f.rules, f.on_requests, f.on_responses)?),
            "size" => GuardrailKind::Size(size_limits(
                f.max_field_bytes,
                f.max_total_bytes,
                f.oversize,
            )?),
            "pin" => GuardrailKind::Pin {
                mode: match f.pin_mode.as_deref() {
                    None | Some("block") => PinMode::Block,
                    Some("flag") => PinMode::Flag,
                    Some(other) => {
                        return Err(bad(
                            "guardrails.pin_mode",
                            format!("`{other}` is neither block nor flag"),
                        ));
                    }
                },
                pins: f
                    .pins
                    .into_iter()
                    .map(|(tool, hex)| {
                        let digest = hex
                            .parse()
                            .map_err(|e| bad("guardrails.pins", format!("{tool}: {e}")))?;
                        Ok((tool, digest))
                    })
                    .collect::<Result<_, ConfigError>>()?,
            },
            "pii" => GuardrailKind::Pii(f.pii.unwrap_or_default()),
            other => {
                return Err(bad(
                    "guardrails.kind",
                    format!("`{other}` is not one of schema, deny, size, pin, pii"),
                ));
            }
        };
        Ok(GuardrailConfig {
            id: f.id,
            mode,
            scope,
            kind,
        })
    }
}

fn deny_rules(
    rules: Vec<FileDenyRule>,
    on_requests: Option<bool>,
    on_responses: Option<bool>,
) -> Result<DenyRules, ConfigError> {
    if rules.is_empty() {
        return Err(bad(
            "guardrails.rules",
            "a deny guardrail needs at least one rule".into(),
        ));
    }
    let mut out = DenyRules::new()
        .on_requests(on_requests.unwrap_or(true))
        .on_responses(on_responses.unwrap_or(true));
    for r in rules {
        out = match (r.keyword, r.regex) {
            (Some(k), None) => out.keyword(r.id, &k),
            (None, Some(re)) => out.regex(r.id, &re),
            _ => {
                return Err(bad(
                    "guardrails.rules",
                    format!("rule {}: give exactly one of keyword or regex", r.id),
                ));
            }
        }
        .map_err(|e| bad("guardrails.rules", e.to_string()))?;
    }
    Ok(out)
}

fn size_limits(
    max_field: Option<usize>,
    max_total: Option<usize>,
    oversize: Option<String>,
) -> Result<SizeLimits, ConfigError> {
    let mut limits = SizeLimits::new();
    match (max_field, max_total) {
        (None, None) => {
            return Err(bad(
                "guardrails.max_field_bytes",
                "a size guardrail needs max_field_bytes or max_total_bytes".into(),
            ));
        }
        (Some(0), _) | (_, Some(0)) => {
            return Err(bad(
                "guardrails.max_field_bytes",
                "a limit of 0 bytes refuses everything".into(),
            ));
        }
        _ => {}
    }
    if let Some(n) = max_field {
        limits = limits.with_max_field(n);
    }
    if let Some(n) = max_total {
        limits = limits.with_max_total(n);
    }
    let oversize = match oversize.as_deref() {
        None | Some("reject") => Oversize::Reject,
        Some("trim") => Oversize::Trim,
        Some(other) => {
            return Err(bad(
                "guardrails.oversize",
                format!("`{other}` is neither reject nor trim"),
            ));
        }
    };
    Ok(limits.with_oversize(oversize))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    #[test]
    fn guardrails_parse_and_build() {
        let digest = "ab".repeat(32);
        let c = Config::from_toml_str(&format!(
            r#"
[[guardrails]]
id = "schemas"
kind = "schema"
protocols = ["mcp"]
[[guardrails]]
id = "deny"
kind = "deny"
mode = "warn"
targets = ["fs__*"]
rules = [{{ id = "aws", regex = "AKIA[0-9A-Z]{{16}}" }}, {{ id = "drop", keyword = "drop table" }}]
[[guardrails]]
id = "sizes"
kind = "size"
max_field_bytes = 10
oversize = "trim"
[[guardrails]]
id = "pins"
kind = "pin"
pin_mode = "flag"
pins = {{ "fs__read" = "{digest}" }}
"#
        ))
        .unwrap();
        assert_eq!(c.guardrails.len(), 4);
        assert_eq!(c.guardrails[1].mode, Mode::Warn);
        let built = Guardrails::build(&c.guardrails).unwrap();
        assert_eq!(built.layer.len(), 4);
        let pins = built.pins.unwrap();
        assert_eq!(pins.mode(), PinMode::Flag);
        assert_eq!(pins.status()[0].approved.to_string(), digest);
    }

    #[test]
    fn guardrail_mistakes_name_their_key() {
        for (text, key) in [
            ("id = \"g\"\nkind = \"magic\"\n", "guardrails.kind"),
            (
                "id = \"g\"\nkind = \"schema\"\nmode = \"loud\"\n",
                "guardrails.mode",
            ),
            (
                "id = \"g\"\nkind = \"schema\"\nmax_field_bytes = 3\n",
                "guardrails.max_field_bytes",
            ),
            ("id = \"g\"\nkind = \"deny\"\n", "guardrails.rules"),
            (
                "id = \"g\"\nkind = \"deny\"\nrules = [{ id = \"r\", regex = \"(\" }]\n",
                "guardrails.rules",
            ),
            (
                "id = \"g\"\nkind = \"deny\"\nrules = [{ id = \"r\" }]\n",
                "guardrails.rules",
            ),
            (
                "id = \"g\"\nkind = \"size\"\n",
                "guardrails.max_field_bytes",
            ),
            (
                "id = \"g\"\nkind = \"size\"\nmax_total_bytes = 9\noversize = \"cut\"\n",
                "guardrails.oversize",
            ),
            (
                "id = \"g\"\nkind = \"pin\"\npins = { t = \"xyz\" }\n",
                "guardrails.pins",
            ),
            (
                "id = \"g\"\nkind = \"pin\"\npin_mode = \"maybe\"\n",
                "guardrails.pin_mode",
            ),
        ] {
            let err = Config::from_toml_str(&format!("[[guardrails]]\n{text}")).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        assert!(
            Config::from_toml_str("[[guardrails]]\nid = \"g\"\nkind = \"schema\"\ntypo = 1\n")
                .is_err()
        );
        // A pii guardrail parses (its options are the PII guardrail's) but this build refuses
        // to start without it rather than let personal data through.
        let c = Config::from_toml_str(
            "[[guardrails]]\nid = \"p\"\nkind = \"pii\"\npii = { email = \"redact\" }\n",
        )
        .unwrap();
        let err = Guardrails::build(&c.guardrails).unwrap_err();
        assert!(err.to_string().contains("pii"), "{err}");
    }
}
