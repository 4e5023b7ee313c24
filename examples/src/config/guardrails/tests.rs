use agent_gateway_policy::guard::pii::{Detector, PiiAction, PiiRule};
use agent_gateway_policy::guard::{Mode, PinMode};

use super::*;
use crate::config::Config;

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
        Config::from_toml_str("[[guardrails]]\nid = \"g\"\nkind = \"schema\"\ntypo = 1\n").is_err()
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

#[test]
fn a_tool_calls_guardrail_warns_unless_told_to_enforce() {
    let c = Config::from_toml_str(
        "[[guardrails]]\nid = \"calls\"\nkind = \"tool_calls\"\nprotocols = [\"llm\"]\n\
         [[guardrails]]\nid = \"strict\"\nkind = \"tool_calls\"\nmode = \"enforce\"\n",
    )
    .unwrap();
    assert!(matches!(c.guardrails[0].kind, GuardrailKind::ToolCalls));
    assert_eq!(c.guardrails[0].mode, Mode::Warn);
    assert_eq!(c.guardrails[1].mode, Mode::Enforce);
    assert_eq!(Guardrails::build(&c.guardrails).unwrap().layer.len(), 2);
    let err = Config::from_toml_str(
        "[[guardrails]]\nid = \"g\"\nkind = \"tool_calls\"\nrequire_known = true\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("guardrails.require_known"),
        "{err}"
    );
}
