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
//!
//! [[guardrails]]
//! id = "pii"
//! kind = "pii"
//! on_requests = true              # both sides by default (also for `deny`)
//! # detector label = detect | redact | block; rule ids are `pii.{label}`.
//! # Left out: every detector, redacting.
//! pii = { email = "redact", payment_card = "redact", openai_key = "block" }
//! ```
//!
//! A `pii` guardrail compiles its rules once, when the layer is built at start-up.

use std::collections::BTreeMap;

use agent_gateway_policy::guard::pii::{Detector, PiiAction, PiiGuard, PiiRule};
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
}

impl Guard {
    fn get(&self) -> &dyn agent_gateway_policy::guard::Guardrail {
        match self {
            Guard::Schema(g) => g,
            Guard::Deny(g) => g,
            Guard::Size(g) => g,
            Guard::Pin(g) => g,
            Guard::Pii(g) => g,
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

    fn text_filter(
        &self,
        exchange: &agent_gateway_policy::guard::Exchange,
    ) -> Option<Box<dyn agent_gateway_core::content::TextFilter>> {
        self.get().text_filter(exchange)
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
    // pii: detector label = action
    pii: Option<BTreeMap<String, String>>,
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
        stray(!f.rules.is_empty() && !kind_is("deny"), "guardrails.rules")?;
        stray(
            (f.on_requests.is_some() || f.on_responses.is_some())
                && !kind_is("deny")
                && !kind_is("pii"),
            "guardrails.on_requests",
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
            "pii" => GuardrailKind::Pii {
                rules: pii_rules(f.pii)?,
                on_requests: f.on_requests.unwrap_or(true),
                on_responses: f.on_responses.unwrap_or(true),
            },
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

/// The rules of a `pii` table (detector label = action), `pii.{label}` each; every detector
/// redacting when the table is left out.
fn pii_rules(table: Option<BTreeMap<String, String>>) -> Result<Vec<PiiRule>, ConfigError> {
    let Some(table) = table else {
        return Ok(PiiRule::defaults());
    };
    if table.is_empty() {
        return Err(bad(
            "guardrails.pii",
            "an empty table detects nothing; leave it out for every detector".into(),
        ));
    }
    table
        .into_iter()
        .map(|(label, action)| {
            let detector = Detector::from_label(&label).ok_or_else(|| {
                let known: Vec<&str> = Detector::ALL.iter().map(|d| d.label()).collect();
                bad(
                    "guardrails.pii",
                    format!("`{label}` is not a detector ({})", known.join(", ")),
                )
            })?;
            let action = PiiAction::from_name(&action).ok_or_else(|| {
                bad(
                    "guardrails.pii",
                    format!("{label}: `{action}` is not detect, redact or block"),
                )
            })?;
            Ok(PiiRule::new(format!("pii.{label}"), detector, action))
        })
        .collect()
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
        for (text, key) in [
            ("pii = { mail = \"redact\" }", "guardrails.pii"),
            ("pii = { email = \"hide\" }", "guardrails.pii"),
            ("pii = {}", "guardrails.pii"),
        ] {
            let text = format!("[[guardrails]]\nid = \"p\"\nkind = \"pii\"\n{text}\n");
            let err = Config::from_toml_str(&text).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let err = Config::from_toml_str(
            "[[guardrails]]\nid = \"g\"\nkind = \"size\"\nmax_total_bytes = 9\non_requests = false\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("guardrails.on_requests"), "{err}");
    }

    #[test]
    fn a_pii_guardrail_builds_its_rules() {
        let c = Config::from_toml_str(
            "[[guardrails]]\nid = \"p\"\nkind = \"pii\"\non_requests = false\n\
             pii = { email = \"redact\", openai_key = \"block\" }\n\
             [[guardrails]]\nid = \"all\"\nkind = \"pii\"\n",
        )
        .unwrap();
        let GuardrailKind::Pii {
            rules,
            on_requests,
            on_responses,
        } = &c.guardrails[0].kind
        else {
            panic!("not a pii guardrail: {:?}", c.guardrails[0].kind);
        };
        assert_eq!(
            rules,
            &[
                PiiRule::new("pii.email", Detector::Email, PiiAction::Redact),
                PiiRule::new("pii.openai_key", Detector::OpenAiKey, PiiAction::Block),
            ]
        );
        assert_eq!((*on_requests, *on_responses), (false, true));
        let GuardrailKind::Pii { rules, .. } = &c.guardrails[1].kind else {
            panic!("not a pii guardrail");
        };
        assert_eq!(rules, &PiiRule::defaults());
        assert_eq!(Guardrails::build(&c.guardrails).unwrap().layer.len(), 2);
    }
}
