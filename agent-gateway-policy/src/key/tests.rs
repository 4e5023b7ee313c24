//! Tests of the key extractors.

use agent_gateway_core::{Action, Call, Caller};
use serde_json::json;

use super::*;

fn call() -> Call {
    Call::new(Action::ModelCall, json!({})).with_target("gpt:fast")
}

fn alice() -> Caller {
    Caller::new("alice")
        .with_team("billing")
        .with_tenant("acme")
}

#[test]
fn caller_keys_are_missing_without_a_caller() {
    let anonymous = call();
    assert_eq!(Subject.key(&anonymous), None);
    assert_eq!(Team.key(&anonymous), None);
    assert_eq!(Tenant.key(&anonymous), None);
    let known = call().with_caller(alice());
    assert_eq!(CallerId.key(&known).as_deref(), Some("custom::acme:alice"));
    assert_eq!(Subject.key(&known).as_deref(), Some("alice"));
    assert_eq!(Team.key(&known).as_deref(), Some("billing"));
    assert_eq!(Tenant.key(&known).as_deref(), Some("acme"));
    let teamless = call().with_caller(Caller::new("bob"));
    assert_eq!(Team.key(&teamless), None);
}

#[test]
fn request_keys() {
    let req = call();
    assert_eq!(Target.key(&req).as_deref(), Some("gpt:fast"));
    assert_eq!(ActionName.key(&req).as_deref(), Some("model_call"));
    assert_eq!(Global("all").key(&req).as_deref(), Some("all"));
    let untargeted = Call::new(Action::ListTools, json!({}));
    assert_eq!(Target.key(&untargeted), None);
}

#[test]
fn composites_escape_their_parts_and_need_every_part() {
    let req = call().with_caller(alice());
    assert_eq!(
        (Subject, Target).key(&req).as_deref(),
        Some("alice:gpt%3Afast")
    );
    assert_eq!(
        Compose(Tenant, ActionName).key(&req).as_deref(),
        Some("acme:model_call")
    );
    assert_eq!(
        (Tenant, Team, Subject).key(&req).as_deref(),
        Some("acme:billing:alice")
    );
    assert_eq!((Subject, Target).key(&call()), None);

    let a = |_: &dyn AgentRequest| Some("a:b".to_owned());
    let b = |_: &dyn AgentRequest| Some("c".to_owned());
    let c = |_: &dyn AgentRequest| Some("a".to_owned());
    let d = |_: &dyn AgentRequest| Some("b:c".to_owned());
    assert_ne!((a, b).key(&req), (c, d).key(&req));
    let pct = |_: &dyn AgentRequest| Some("50%".to_owned());
    assert_eq!((pct, Global("x")).key(&req).as_deref(), Some("50%25:x"));
}

#[test]
fn callers_of_different_authenticators_or_issuers_have_different_keys() {
    use agent_gateway_core::caller::AuthMethod;
    let key = |caller: Caller| CallerId.key(&call().with_caller(caller));
    let api_key = key(Caller::new("demo")
        .with_tenant("local")
        .with_method(AuthMethod::ApiKey));
    let jwt = Caller::new("demo")
        .with_tenant("local")
        .with_method(AuthMethod::Jwt);
    let issuer_a = key(jwt.clone().with_issuer("https://a.example"));
    let issuer_b = key(jwt.with_issuer("https://b.example"));
    assert_ne!(api_key, issuer_a);
    assert_ne!(issuer_a, issuer_b);
    assert_ne!(api_key, issuer_b);
    // The bare subject is documented as shared, and is.
    let bare = |caller: Caller| Subject.key(&call().with_caller(caller));
    assert_eq!(
        bare(Caller::new("demo")),
        bare(Caller::new("demo").with_method(AuthMethod::Jwt))
    );
}

#[test]
fn long_client_parts_are_digested_and_stay_distinct() {
    let mut seen = std::collections::HashSet::new();
    for i in 0..10_000 {
        let target = format!("{i}-{}", "t".repeat(4096));
        let req = call().with_target(target).with_caller(alice());
        let key = (CallerId, Target).key(&req).unwrap();
        assert!(key.len() <= 2 * 3 * MAX_PART_LEN, "{} bytes", key.len());
        assert!(seen.insert(key));
    }
    let short = call().with_target("fs.read");
    assert_eq!(Target.key(&short).as_deref(), Some("fs.read"));
    assert_eq!("caller".parse::<Part>(), Ok(Part::Caller));
}

#[test]
fn closures_are_extractors() {
    let by_arg = |req: &dyn AgentRequest| {
        let flagged = req.arguments().and_then(|a| a["flag"].as_bool());
        flagged.unwrap_or(false).then(|| "flagged".to_owned())
    };
    let flagged = Call::new(Action::ModelCall, json!({"flag": true}));
    assert_eq!(by_arg.key(&flagged).as_deref(), Some("flagged"));
    assert_eq!(by_arg.key(&call()), None);
}
