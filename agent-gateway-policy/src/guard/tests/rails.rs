//! Sizes, deny rules, closures, scopes, warn mode and rewrites.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::response::Reply;
use agent_gateway_core::{Action, AgentRequest, AgentResponse, BoxError, Call, Caller, DeniedKind};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::guard::*;

#[tokio::test]
async fn size_limits_reject_or_trim_and_the_trim_reaches_the_upstream() {
    let reject = GuardLayer::new().with(SizeLimits::new().with_max_field(4).with_max_total(40));
    let (svc, seen) = stack(reject, json!("ok"));
    assert!(
        svc.clone()
            .oneshot(tool_call("t", json!({"a": "abcd"})))
            .await
            .is_ok()
    );
    let err = svc
        .clone()
        .oneshot(tool_call("t", json!({"a": "abcde"})))
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: size::FIELD_RULE.into()
        }
    );
    let many = json!({"a": "abcd", "b": "abcd", "c": "abcd", "d": "abcd"});
    let err = svc.clone().oneshot(tool_call("t", many)).await.unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: size::TOTAL_RULE.into()
        }
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "refusals never reach the upstream"
    );

    let trim = GuardLayer::new().with(
        SizeLimits::new()
            .with_max_field(3)
            .with_oversize(Oversize::Trim),
    );
    let (svc, seen) = stack(trim, json!("ok"));
    // "é" is two bytes: the cut falls back to a character boundary.
    svc.oneshot(tool_call(
        "t",
        json!({"a": "abcdef", "b": ["xé"], "c": "xyé"}),
    ))
    .await
    .unwrap();
    assert_eq!(
        seen.lock().unwrap()[0],
        json!({"a": "abc", "b": ["xé"], "c": "xy"})
    );
}

#[tokio::test]
async fn deny_rules_block_arguments_and_outputs_by_id() {
    let rules = DenyRules::new()
        .keyword("kw", "Secret Plan")
        .unwrap()
        .regex("aws-key", r"AKIA[0-9A-Z]{16}")
        .unwrap();
    let (svc, seen) = stack(
        GuardLayer::new().with(rules.clone()),
        json!({"text": "fine"}),
    );
    let err = svc
        .clone()
        .oneshot(tool_call("t", json!({"q": ["the SECRET plan"]})))
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: "kw".into()
        }
    );
    let err = svc
        .clone()
        .oneshot(tool_call("t", json!({"k": "AKIAABCDEFGHIJKLMNOP"})))
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: "aws-key".into()
        }
    );
    assert!(
        svc.clone()
            .oneshot(tool_call("t", json!({"k": "AKIA-short"})))
            .await
            .is_ok()
    );
    assert_eq!(seen.lock().unwrap().len(), 1);

    // On the way back: an output carrying a match is refused.
    let (svc, seen) = stack(
        GuardLayer::new().with(rules),
        json!({"leak": "AKIAABCDEFGHIJKLMNOP"}),
    );
    let err = svc.oneshot(tool_call("t", json!({}))).await.unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: "aws-key".into()
        }
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the upstream ran; its answer was refused"
    );
    assert!(DenyRules::new().regex("bad", "(").is_err());
}

#[tokio::test]
async fn closures_scope_and_warn_mode() {
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    let no_rm = move |req: &mut dyn AgentRequest| {
        count.fetch_add(1, Ordering::Relaxed);
        match req.target() {
            Some(t) if t.ends_with("rm") => Verdict::block("no-rm"),
            _ => Verdict::Pass,
        }
    };
    let scoped = Scoped::new("no-rm", no_rm)
        .with_scope(Scope::all().with_protocols(["mcp"]).with_callers(["bob*"]));
    let (svc, _) = stack(GuardLayer::new().with(scoped), json!("ok"));
    let as_who = |who: &str, protocol: &'static str| {
        tool_call("fs.rm", json!({}))
            .with_caller(Caller::new(who))
            .with_protocol(protocol)
    };
    assert!(svc.clone().oneshot(as_who("bobby", "mcp")).await.is_err());
    assert!(
        svc.clone().oneshot(as_who("alice", "mcp")).await.is_ok(),
        "caller out of scope"
    );
    assert!(
        svc.clone().oneshot(as_who("bobby", "a2a")).await.is_ok(),
        "protocol out of scope"
    );
    assert_eq!(
        hits.load(Ordering::Relaxed),
        1,
        "out of scope, the guardrail does not run"
    );

    let warn =
        Scoped::new("w", |_: &mut dyn AgentRequest| Verdict::block("x")).with_mode(Mode::Warn);
    let (svc, seen) = stack(GuardLayer::new().with(warn), json!("ok"));
    assert!(svc.oneshot(tool_call("t", json!({}))).await.is_ok());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn rewrites_are_recorded_and_response_closures_rewrite_output() {
    let redact = |req: &mut dyn AgentRequest| match req.arguments_mut() {
        Some(args) => {
            args["pw"] = json!("***");
            Verdict::mutated("pw")
        }
        None => Verdict::Pass,
    };
    let saw_rewritten = Arc::new(std::sync::Mutex::new(None));
    let saw = saw_rewritten.clone();
    let layer = GuardLayer::new().with(redact).with(on_response(
        |_: &Exchange, res: &mut dyn AgentResponse| {
            if let Some(out) = res.output_mut() {
                *out = json!("[redacted]");
                return Verdict::mutated("out");
            }
            Verdict::Pass
        },
    ));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |call: Call| {
            *saw.lock().unwrap() = Some((
                call.arguments().cloned(),
                call.extensions().get::<Rewritten>().cloned(),
            ));
            async { Ok::<_, BoxError>(Reply::new(json!("secret answer"))) }
        }));
    let reply = svc
        .oneshot(tool_call("t", json!({"pw": "hunter2"})))
        .await
        .unwrap();
    assert_eq!(reply.into_output(), json!("[redacted]"));
    let (args, rewritten) = saw_rewritten.lock().unwrap().take().unwrap();
    assert_eq!(args, Some(json!({"pw": "***"})));
    assert_eq!(rewritten, Some(Rewritten(vec!["pw".into()])));
}

#[test]
fn each_built_in_watches_only_the_responses_it_looks_at() {
    let mcp = |action| Call::new(action, json!({})).with_protocol("mcp");
    let llm = Call::new(Action::ModelCall, json!({})).with_protocol("llm");
    let listing = mcp(Action::ListTools);
    let tool_call = mcp(Action::ToolCall).with_target("t");
    let prompt = mcp(Action::GetPrompt);

    // Size limits: only when they limit responses.
    assert!(!SizeLimits::new().with_max_total(9).watches(&tool_call));
    assert!(SizeLimits::new().on_responses(true).watches(&tool_call));
    // Pins: only MCP tool listings.
    let pins = Pins::new(PinMode::Block);
    assert!(pins.watches(&listing));
    assert!(!pins.watches(&tool_call));
    assert!(!pins.watches(&llm));
    // Schemas: MCP listings and tool calls.
    let schemas = SchemaCheck::new();
    assert!(schemas.watches(&listing) && schemas.watches(&tool_call));
    assert!(!schemas.watches(&prompt) && !schemas.watches(&llm));
    // Model tool calls: only a model call that offers tools (a `Call` offers none).
    assert!(!ToolCallSchemas::new().watches(&llm));
}
