use agent_gateway_core::response::Reply;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, BoxError, Call, Caller, Denied, DeniedKind, RunId};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

use super::*;

/// Drives `call` through the policy in front of a counting fake upstream. Returns the rule
/// that allowed or denied it and how many calls reached upstream.
async fn drive(policy: &Policy, call: Call) -> (Result<Reply, BoxError>, usize) {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("upstream"))));
    let stack = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(policy.clone()))
        .service(upstream.clone());
    let result = stack.oneshot(call).await;
    (result, upstream.calls())
}

/// `Ok(allowing rule)` when the call got through, `Err(denying rule)` when it did not.
/// Asserts that upstream ran exactly when the call was allowed.
async fn outcome(policy: &Policy, call: Call) -> Result<&'static str, String> {
    let decided = policy.evaluate(&call);
    let allowed_by: &'static str = match decided {
        Decision::Allow { rule } => rule.to_owned().leak(),
        Decision::Deny { .. } => "",
    };
    let (result, calls) = drive(policy, call).await;
    match result {
        Ok(reply) => {
            assert_eq!(calls, 1, "allowed, so upstream ran once");
            assert_eq!(reply.into_output(), json!("upstream"));
            assert!(decided.is_allowed());
            Ok(allowed_by)
        }
        Err(err) => {
            assert_eq!(calls, 0, "denied, so upstream must not run");
            let denied = Denied::find(err.as_ref()).expect("a Denied in the error");
            assert_eq!(denied.kind(), &DeniedKind::Forbidden);
            assert_eq!(denied.message(), "not allowed by policy");
            let rule = denied
                .rule()
                .expect("every denial names its rule")
                .to_owned();
            assert_eq!(decided, Decision::Deny { rule: &rule });
            Err(rule)
        }
    }
}

fn tool(target: &str, args: Value, caller: Caller) -> Call {
    Call::new(Action::ToolCall, args)
        .with_target(target)
        .with_caller(caller)
}

fn admin() -> Caller {
    Caller::new("root").with_role("admin")
}

fn reader() -> Caller {
    Caller::new("bob").with_role("reader")
}

const ADMIN_DELETE: &str =
    r#"action == "tool_call" && target.startsWith("fs.delete_") && "admin" in caller.roles"#;
const BILLING_MODEL: &str =
    r#"action == "model_call" && target == "gpt-fast" && caller.team == "billing""#;
const PATH_ALLOW: &str =
    r#"action != "tool_call" || (has(args.path) && args.path.startsWith("/data/"))"#;
const PATH_DENY: &str =
    r#"action == "tool_call" && !(has(args.path) && args.path.startsWith("/data/"))"#;

#[tokio::test]
async fn role_admin_may_call_fs_delete() {
    let policy = Rules::new()
        .allow("admin-delete", ADMIN_DELETE)
        .compile()
        .unwrap();
    let args = json!({"path": "/data/x"});
    assert_eq!(
        outcome(&policy, tool("fs.delete_file", args.clone(), admin())).await,
        Ok("admin-delete")
    );
    assert_eq!(
        outcome(&policy, tool("fs.delete_file", args.clone(), reader())).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, tool("fs.read_file", args.clone(), admin())).await,
        Err("default-deny".into())
    );
    let no_caller = Call::new(Action::ToolCall, args).with_target("fs.delete_file");
    assert_eq!(
        outcome(&policy, no_caller).await,
        Err("default-deny".into())
    );
}

#[tokio::test]
async fn team_billing_may_use_gpt_fast() {
    let policy = Rules::new()
        .allow("billing-fast", BILLING_MODEL)
        .compile()
        .unwrap();
    let model = |alias: &str, caller: Caller| {
        Call::new(Action::ModelCall, json!({"model": alias}))
            .with_protocol("llm")
            .with_target(alias)
            .with_caller(caller)
    };
    let billing = Caller::new("ann").with_team("billing");
    assert_eq!(
        outcome(&policy, model("gpt-fast", billing.clone())).await,
        Ok("billing-fast")
    );
    assert_eq!(
        outcome(&policy, model("gpt-large", billing.clone())).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(
            &policy,
            model("gpt-fast", Caller::new("ops").with_team("ops"))
        )
        .await,
        Err("default-deny".into())
    );
    // No team at all: `caller.team` is "", not an error.
    assert_eq!(
        outcome(&policy, model("gpt-fast", Caller::new("solo"))).await,
        Err("default-deny".into())
    );
    // Same target, other action.
    assert_eq!(
        outcome(&policy, tool("gpt-fast", json!({}), billing)).await,
        Err("default-deny".into())
    );
}

#[tokio::test]
async fn argument_path_as_an_allow_rule() {
    let policy = Rules::new()
        .allow("paths-under-data", PATH_ALLOW)
        .compile()
        .unwrap();
    let call = |args| tool("fs.read_file", args, reader());
    assert_eq!(
        outcome(&policy, call(json!({"path": "/data/a.txt"}))).await,
        Ok("paths-under-data")
    );
    assert_eq!(
        outcome(&policy, call(json!({"path": "/etc/passwd"}))).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, call(json!({"other": 1}))).await,
        Err("default-deny".into())
    );
    // `null` and a number make `startsWith` fail: an allow rule that errors does not allow.
    assert_eq!(
        outcome(&policy, call(json!({"path": null}))).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, call(json!({"path": 7}))).await,
        Err("default-deny".into())
    );
    // Other actions are not constrained by it.
    let agent = Call::new(Action::AgentMessage, json!({})).with_target("helpdesk");
    assert_eq!(outcome(&policy, agent).await, Ok("paths-under-data"));
}

#[tokio::test]
async fn argument_path_as_a_deny_rule() {
    let policy = Rules::new()
        .allow_targets("fs-tools", ["fs.*"])
        .deny("path-outside-data", PATH_DENY)
        .compile()
        .unwrap();
    let call = |args| tool("fs.read_file", args, reader());
    assert_eq!(
        outcome(&policy, call(json!({"path": "/data/a.txt"}))).await,
        Ok("fs-tools")
    );
    assert_eq!(
        outcome(&policy, call(json!({"path": "/etc/passwd"}))).await,
        Err("path-outside-data".into())
    );
    assert_eq!(
        outcome(&policy, call(json!({}))).await,
        Err("path-outside-data".into())
    );
    // A deny rule that errors denies, naming itself.
    assert_eq!(
        outcome(&policy, call(json!({"path": null}))).await,
        Err("path-outside-data".into())
    );
    // Not a JSON object at all: `has()` on a string fails, so the guard denies.
    assert_eq!(
        outcome(&policy, call(json!("/data/a.txt"))).await,
        Err("path-outside-data".into())
    );
}

#[tokio::test]
async fn deny_overrides_allow_whatever_the_order() {
    let policy = Rules::new()
        .allow("everyone", "true")
        .deny("no-delete", r#"target.startsWith("fs.delete_")"#)
        .deny("no-wipe", r#"target == "fs.delete_all""#)
        .compile()
        .unwrap();
    assert_eq!(
        outcome(&policy, tool("fs.read_file", json!({}), admin())).await,
        Ok("everyone")
    );
    assert_eq!(
        outcome(&policy, tool("fs.delete_file", json!({}), admin())).await,
        Err("no-delete".into())
    );
    // Two deny rules match: the first one declared is named.
    assert_eq!(
        outcome(&policy, tool("fs.delete_all", json!({}), admin())).await,
        Err("no-delete".into())
    );
}

#[tokio::test]
async fn no_rules_deny_everything_with_the_default_rule() {
    let policy = Rules::new().compile().unwrap();
    assert!(policy.is_empty());
    assert_eq!(
        outcome(&policy, tool("fs.read_file", json!({}), admin())).await,
        Err(DEFAULT_DENY_RULE.into())
    );
    let listing = Call::new(Action::ListTools, json!({})).with_caller(admin());
    assert_eq!(
        outcome(&policy, listing).await,
        Err(DEFAULT_DENY_RULE.into())
    );
}

#[tokio::test]
async fn evaluation_errors_fail_closed() {
    let policy = Rules::new()
        .deny("too-many", "args.count > 3")
        .allow("trusted", "caller.claims.level >= 3")
        .allow("not-a-bool", "target")
        .compile()
        .unwrap();
    let trusted = Caller::new("t").with_claim("level", json!(5));
    assert_eq!(
        outcome(&policy, tool("x", json!({"count": 1}), trusted.clone())).await,
        Ok("trusted")
    );
    assert_eq!(
        outcome(&policy, tool("x", json!({"count": 9}), trusted.clone())).await,
        Err("too-many".into())
    );
    // Missing field and type mismatch in a deny rule: denied by that rule.
    assert_eq!(
        outcome(&policy, tool("x", json!({}), trusted.clone())).await,
        Err("too-many".into())
    );
    assert_eq!(
        outcome(&policy, tool("x", json!({"count": "many"}), trusted)).await,
        Err("too-many".into())
    );
    // Missing claim in an allow rule, and an allow rule that yields a string: no allow.
    assert_eq!(
        outcome(&policy, tool("x", json!({"count": 1}), reader())).await,
        Err("default-deny".into())
    );
}

#[tokio::test]
async fn target_lists_with_globs() {
    let policy = Rules::new()
        .allow_targets("reads", ["fs.read_*", "git.status"])
        .deny_targets("no-secrets", ["*secret*"])
        .compile()
        .unwrap();
    assert_eq!(
        outcome(&policy, tool("fs.read_file", json!({}), reader())).await,
        Ok("reads")
    );
    assert_eq!(
        outcome(&policy, tool("git.status", json!({}), reader())).await,
        Ok("reads")
    );
    assert_eq!(
        outcome(&policy, tool("git.status2", json!({}), reader())).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, tool("fs.write_file", json!({}), reader())).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, tool("fs.read_secret", json!({}), admin())).await,
        Err("no-secrets".into())
    );
    // No target matches no pattern.
    let untargeted = Call::new(Action::ToolCall, json!({})).with_caller(reader());
    assert_eq!(
        outcome(&policy, untargeted).await,
        Err("default-deny".into())
    );
}

#[tokio::test]
async fn protocol_and_run_are_bound() {
    let policy = Rules::new()
        .allow("llm-in-a-run", r#"protocol == "llm" && run == "run-7""#)
        .compile()
        .unwrap();
    let call = |run: Option<&str>| {
        let call = Call::new(Action::ModelCall, json!({})).with_protocol("llm");
        match run {
            Some(id) => call.with_run_id(RunId::new(id).unwrap()),
            None => call,
        }
    };
    assert_eq!(
        outcome(&policy, call(Some("run-7"))).await,
        Ok("llm-in-a-run")
    );
    assert_eq!(
        outcome(&policy, call(Some("run-8"))).await,
        Err("default-deny".into())
    );
    assert_eq!(
        outcome(&policy, call(None)).await,
        Err("default-deny".into())
    );
}

#[test]
fn invalid_rules_are_construction_errors_naming_the_rule() {
    let err = Rules::new()
        .allow("fine", "true")
        .deny("broken", "action ==")
        .compile()
        .unwrap_err();
    assert!(
        matches!(&err, RuleError::Invalid { id, .. } if id == "broken"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("rule `broken`: invalid CEL condition: "),
        "{text}"
    );
    assert!(std::error::Error::source(&err).is_some());

    let dup = Rules::new()
        .allow("a", "true")
        .deny("a", "false")
        .compile()
        .unwrap_err();
    assert!(
        matches!(&dup, RuleError::DuplicateId { id } if id == "a"),
        "{dup:?}"
    );
    let reserved = Rules::new()
        .allow(DEFAULT_DENY_RULE, "true")
        .compile()
        .unwrap_err();
    assert!(matches!(&reserved, RuleError::ReservedId { id } if id == "default-deny"));
    let empty = Rules::new().allow("", "true").compile().unwrap_err();
    assert!(matches!(&empty, RuleError::ReservedId { id } if id.is_empty()));
    let none = Rules::new()
        .deny_targets("nothing", Vec::<String>::new())
        .compile()
        .unwrap_err();
    assert!(matches!(&none, RuleError::NoPatterns { id } if id == "nothing"));
    assert_eq!(none.to_string(), "rule `nothing` lists no target patterns");
}

#[tokio::test]
async fn inner_errors_pass_through_boxed() {
    let policy = Rules::new().allow("all", "true").compile().unwrap();
    let stack = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(policy))
        .service(FakeUpstream::new(|_: Call| {
            Err::<Reply, _>(std::io::Error::other("upstream down"))
        }));
    let err = stack
        .oneshot(tool("x", json!({}), admin()))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "upstream down");
    assert!(Denied::find(err.as_ref()).is_none());
}

#[test]
fn services_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Policy>();
    send_sync::<AuthorizeLayer>();
    send_sync::<RuleError>();
    send::<future::ResponseFuture<std::future::Ready<Result<Reply, BoxError>>>>();
}
