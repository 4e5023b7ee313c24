//! Schema checks learned from listings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::response::Reply;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, DeniedKind};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::guard::*;

#[tokio::test]
async fn schema_check_learns_from_listings_and_checks_calls_and_outputs() {
    let schema = SchemaCheck::new();
    let layer = GuardLayer::new().with(schema.clone());
    let tools = json!([{
        "name": "add",
        "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        "outputSchema": {"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"]},
    }, {"name": "huge", "inputSchema": {"type": "object", "description": "x".repeat(MAX_SCHEMA_BYTES_FOR_TEST)}}]);
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |call: Call| {
            count.fetch_add(1, Ordering::Relaxed);
            let tools = tools.clone();
            async move {
                Ok::<_, BoxError>(match call.action() {
                    Action::ListTools => listing(tools),
                    _ if call.arguments() == Some(&json!({"a": 7})) => {
                        Reply::new(json!({"structuredContent": {"sum": "seven"}}))
                    }
                    _ => Reply::new(json!({"structuredContent": {"sum": 1}})),
                })
            }
        }));
    // Before any listing, nothing is known: calls pass.
    assert!(
        svc.clone()
            .oneshot(tool_call("add", json!({"a": "x"})))
            .await
            .is_ok()
    );
    let list = Call::new(Action::ListTools, json!({})).with_protocol("mcp");
    svc.clone().oneshot(list).await.unwrap();
    assert_eq!(schema.len(), 2);

    assert!(
        svc.clone()
            .oneshot(tool_call("add", json!({"a": 1})))
            .await
            .is_ok()
    );
    let before = calls.load(Ordering::Relaxed);
    let err = svc
        .clone()
        .oneshot(tool_call("add", json!({"a": "one"})))
        .await
        .unwrap_err();
    let (kind, message) = rule_of(&err);
    assert_eq!(
        kind,
        DeniedKind::GuardrailBlocked {
            rule_id: "input-schema".into()
        }
    );
    assert!(message.contains("/properties/a/type"), "{message}");
    let err = svc
        .clone()
        .oneshot(tool_call("add", json!({})))
        .await
        .unwrap_err();
    assert!(
        rule_of(&err).1.contains("schema path /required"),
        "{}",
        rule_of(&err).1
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        before,
        "refused before the upstream"
    );

    // The output schema: a non-conforming structuredContent is refused.
    let err = svc
        .clone()
        .oneshot(tool_call("add", json!({"a": 7})))
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: "output-schema".into()
        }
    );
    // Named by its paths; the refused value is not quoted back to the client.
    let message = rule_of(&err).1;
    assert!(message.contains("instance path /sum"), "{message}");
    assert!(!message.contains("seven"), "{message}");

    // A schema over the size bound is unusable: its calls fail closed.
    let err = svc
        .clone()
        .oneshot(tool_call("huge", json!({})))
        .await
        .unwrap_err();
    assert!(
        rule_of(&err).1.contains("cannot be used"),
        "{}",
        rule_of(&err).1
    );
}

const MAX_SCHEMA_BYTES_FOR_TEST: usize = MAX_SCHEMA_BYTES + 1;

#[tokio::test]
async fn schema_check_has_no_network_refs_and_a_linear_regex_engine() {
    let check = SchemaCheck::new();
    check.learn(
        "remote",
        &json!({"inputSchema": {"$ref": "https://example.com/s.json"}}),
    );
    assert!(matches!(
        check.check_arguments("remote", None),
        Verdict::Block(_)
    ));
    // A pattern that backtracks catastrophically elsewhere is linear here.
    check.learn(
        "re",
        &json!({"inputSchema": {"properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}}),
    );
    let evil = format!("{}!", "a".repeat(50_000));
    assert!(matches!(
        check.check_arguments("re", Some(&json!({"s": evil}))),
        Verdict::Block(_)
    ));
    assert_eq!(
        check.check_arguments("re", Some(&json!({"s": "aaa"}))),
        Verdict::Pass
    );
    let strict = SchemaCheck::new().with_require_known(true);
    assert!(matches!(
        strict.check_arguments("unknown", None),
        Verdict::Block(_)
    ));
    let small = SchemaCheck::new().with_max_tools(1);
    small.learn("a", &json!({"inputSchema": {}}));
    small.learn("b", &json!({"inputSchema": {}}));
    assert_eq!(small.len(), 1);
}
