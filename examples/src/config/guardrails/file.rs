//! `[[guardrails]]` as the file spells it, checked and turned into a [`GuardrailConfig`].

use std::collections::BTreeMap;

use agent_gateway_policy::guard::pii::{Detector, PiiAction, PiiRule};
use agent_gateway_policy::guard::{DenyRules, Mode, Oversize, PinMode, Scope, SizeLimits};
use serde::Deserialize;

use super::{GuardrailConfig, GuardrailKind, bad};
use crate::config::ConfigError;

/// One `[[guardrails]]` entry as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileGuardrail {
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

impl TryFrom<FileGuardrail> for GuardrailConfig {
    type Error = ConfigError;

    fn try_from(f: FileGuardrail) -> Result<Self, ConfigError> {
        let mode = match f.mode.as_deref() {
            // A model's tool calls are often slightly off: warn unless told to enforce.
            None if f.kind == "tool_calls" => Mode::Warn,
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
            "tool_calls" => GuardrailKind::ToolCalls,
            "data_schema" => GuardrailKind::DataSchema,
            other => {
                return Err(bad(
                    "guardrails.kind",
                    format!(
                        "`{other}` is not one of schema, deny, size, pin, pii, tool_calls, data_schema"
                    ),
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
