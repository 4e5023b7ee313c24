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

/// An `[[a2a.agents]]` entry named `orders`, with `extra` lines, and a `data_schema` guardrail.
fn with_agent_schemas(extra: &str) -> String {
    format!(
        "[a2a]\n[[a2a.agents]]\nname = \"orders\"\n{extra}\n[[a2a.agents.instances]]\nid = \"o\"\n\
         url = \"http://10.0.0.1/\"\n[[guardrails]]\nid = \"data\"\nkind = \"data_schema\"\n"
    )
}

#[test]
fn data_schema_guardrails_take_the_agents_declarations_inline_or_from_a_file() {
    let inline = "data_schemas = { returns = { \"application/json\" = { type = \"object\" } } }";
    let c = Config::from_toml_str(&with_agent_schemas(inline)).unwrap();
    let built = Guardrails::build_with(&c.guardrails, c.a2a.as_ref()).unwrap();
    assert!(built.card_schemas);
    assert_eq!(built.layer.len(), 1);
    // Without a data_schema guardrail the front reads no cards.
    let none = Config::from_toml_str("[[guardrails]]\nid = \"s\"\nkind = \"schema\"\n").unwrap();
    assert!(!Guardrails::build(&none.guardrails).unwrap().card_schemas);

    let file = std::env::temp_dir().join(format!("agw-data-schemas-{}.json", std::process::id()));
    std::fs::write(&file, r#"{"application/json": {"type": "object"}}"#).unwrap();
    let from_file = format!("data_schemas_file = {:?}", file.display().to_string());
    let c = Config::from_toml_str(&with_agent_schemas(&from_file)).unwrap();
    assert!(Guardrails::build_with(&c.guardrails, c.a2a.as_ref()).is_ok());
    // A schema that does not compile is refused at build, naming the agent and media type;
    // so is a file that is not there.
    std::fs::write(&file, r#"{"application/json": {"type": 7}}"#).unwrap();
    let err = Guardrails::build_with(&c.guardrails, c.a2a.as_ref()).unwrap_err();
    let err = err.to_string();
    assert!(
        err.contains("orders") && err.contains("application/json"),
        "{err}"
    );
    std::fs::remove_file(&file).unwrap();
    let err = Guardrails::build_with(&c.guardrails, c.a2a.as_ref()).unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
    // --check says the same, under the agent's key.
    let problems = crate::config::check::check_str(&with_agent_schemas(
        "data_schemas = { \"not-a-media-type\" = { type = \"object\" } }",
    ));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "a2a.agents[0].data_schemas");
    assert!(
        problems[0].reason.contains("not-a-media-type"),
        "{problems:?}"
    );
    // Both ways of declaring at once is a mistake.
    let both = format!("{inline}\n{from_file}");
    assert!(Config::from_toml_str(&with_agent_schemas(&both)).is_err());
}
