//! Listings filtered by the same rules that decide calls: each caller sees exactly the tools,
//! agents and models it may use.

use agent_gateway_core::response::Reply;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied};
use agent_gateway_policy::authorize::{AuthorizeLayer, Policy, Rules};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

/// An upstream that answers each listing with every item it has, whoever asks.
fn catalogue(call: Call) -> Result<Reply, BoxError> {
    let reply = Reply::new(json!("listing"));
    let items: &[(Action, &str)] = match call.action() {
        Action::ListTools => &[
            (Action::ToolCall, "fs.read_file"),
            (Action::ToolCall, "fs.read_dir"),
            (Action::ToolCall, "fs.delete_file"),
            (Action::ToolCall, "prod.delete"),
        ],
        Action::Discovery => &[
            (Action::AgentMessage, "helpdesk"),
            (Action::AgentMessage, "billing-agent"),
            (Action::AgentMessage, "deployer"),
        ],
        Action::ListModels => &[
            (Action::ModelCall, "gpt-fast"),
            (Action::ModelCall, "gpt-large"),
            (Action::ModelCall, "claude-x"),
        ],
        _ => &[],
    };
    Ok(items.iter().fold(reply, |reply, (action, name)| {
        reply.with_item(*action, *name, json!({ "name": name }))
    }))
}

fn policy() -> Policy {
    Rules::new()
        .allow(
            "listings",
            r#"action in ["list_tools", "discovery", "list_models"]"#,
        )
        .allow("admins", r#""admin" in caller.roles"#)
        .allow(
            "reader-tools",
            r#""reader" in caller.roles && action == "tool_call" && target.startsWith("fs.read_")"#,
        )
        .allow(
            "reader-agents",
            r#""reader" in caller.roles && action == "agent_message" && target == "helpdesk""#,
        )
        .allow(
            "reader-models",
            r#""reader" in caller.roles && action == "model_call" && target in ["gpt-fast"]"#,
        )
        .deny_targets("nobody-touches-prod", ["prod.*"])
        .compile()
        .expect("rules compile")
}

/// Lists with `action` as `caller`; returns the names seen and how often upstream ran.
async fn list(policy: Policy, action: Action, caller: Option<Caller>) -> (Vec<String>, usize) {
    let upstream = FakeUpstream::new(catalogue);
    let stack = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(policy))
        .service(upstream.clone());
    let mut call = Call::new(action, json!({}));
    if let Some(caller) = caller {
        call = call.with_caller(caller);
    }
    let reply = stack.oneshot(call).await.expect("listing allowed");
    let names = reply.items().map(|item| item.name.to_owned()).collect();
    (names, upstream.calls())
}

fn admin() -> Option<Caller> {
    Some(Caller::new("root").with_role("admin"))
}

fn reader() -> Option<Caller> {
    Some(Caller::new("bob").with_role("reader"))
}

#[tokio::test]
async fn tools_are_filtered_per_caller() {
    let (seen, calls) = list(policy(), Action::ListTools, admin()).await;
    assert_eq!(seen, ["fs.read_file", "fs.read_dir", "fs.delete_file"]);
    assert_eq!(calls, 1);
    let (seen, _) = list(policy(), Action::ListTools, reader()).await;
    assert_eq!(seen, ["fs.read_file", "fs.read_dir"]);
}

#[tokio::test]
async fn agents_are_filtered_per_caller() {
    let (seen, _) = list(policy(), Action::Discovery, admin()).await;
    assert_eq!(seen, ["helpdesk", "billing-agent", "deployer"]);
    let (seen, _) = list(policy(), Action::Discovery, reader()).await;
    assert_eq!(seen, ["helpdesk"]);
}

#[tokio::test]
async fn models_are_filtered_per_caller() {
    let (seen, _) = list(policy(), Action::ListModels, admin()).await;
    assert_eq!(seen, ["gpt-fast", "gpt-large", "claude-x"]);
    let (seen, _) = list(policy(), Action::ListModels, reader()).await;
    assert_eq!(seen, ["gpt-fast"]);
}

#[tokio::test]
async fn a_caller_without_roles_sees_an_empty_list() {
    let (seen, calls) = list(policy(), Action::ListTools, None).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(calls, 1, "the listing itself is allowed");
}

#[tokio::test]
async fn what_a_listing_shows_matches_what_a_call_may_do() {
    let policy = policy();
    // The expected listings are pinned, so a listing and a call that agree on a wrong answer
    // still fail; then each listed name is checked against what a call may do.
    let expected: [(Option<Caller>, &[&str]); 3] = [
        (admin(), &["fs.read_file", "fs.read_dir", "fs.delete_file"]),
        (reader(), &["fs.read_file", "fs.read_dir"]),
        (None, &[]),
    ];
    for (caller, pinned) in expected {
        let (seen, _) = list(policy.clone(), Action::ListTools, caller.clone()).await;
        assert_eq!(seen, pinned, "{caller:?}");
        for name in [
            "fs.read_file",
            "fs.read_dir",
            "fs.delete_file",
            "prod.delete",
        ] {
            let mut call = Call::new(Action::ToolCall, json!({})).with_target(name);
            if let Some(caller) = caller.clone() {
                call.set_caller(caller);
            }
            let allowed = policy.evaluate(&call).is_allowed();
            assert_eq!(
                seen.iter().any(|s| s == name),
                allowed,
                "{name} for {caller:?}"
            );
        }
    }
}

#[tokio::test]
async fn listing_itself_needs_a_rule() {
    let policy = Rules::new()
        .allow("admins", r#""admin" in caller.roles"#)
        .compile()
        .unwrap();
    let upstream = FakeUpstream::new(catalogue);
    let stack = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(policy))
        .service(upstream.clone());
    let call = Call::new(Action::ListModels, json!({})).with_caller(Caller::new("bob"));
    let err = stack.oneshot(call).await.unwrap_err();
    let denied = Denied::find(err.as_ref()).expect("a denial");
    assert_eq!(denied.rule(), Some("default-deny"));
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn items_are_judged_with_empty_args() {
    // A deny rule demanding an argument hides every tool it covers from listings, because a
    // listed item is decided with `args == {}`; calls with the argument still go through.
    let policy = Rules::new()
        .allow("all", "true")
        .deny(
            "fs-needs-data-path",
            r#"target.startsWith("fs.") && !(has(args.path) && args.path.startsWith("/data/"))"#,
        )
        .compile()
        .unwrap();
    let (seen, _) = list(policy.clone(), Action::ListTools, reader()).await;
    assert_eq!(seen, ["prod.delete"]);
    let call = Call::new(Action::ToolCall, json!({"path": "/data/a"})).with_target("fs.read_file");
    assert!(policy.evaluate(&call).is_allowed());
}
