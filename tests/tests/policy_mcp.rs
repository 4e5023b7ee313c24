//! The policy layers in front of the MCP front, in both protocol eras: an allowed call, each
//! denial kind as a JSON-RPC error with no upstream call, and tool lists filtered per caller.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::{Action, BoxError, Cost, Secret};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use agent_gateway_policy::budget::{BudgetLayer, Level};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Limit, QuotaLayer};
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const ALICE: &str = "sk-alice-mcp-000000"; // admin: every tool
const BOB: &str = "sk-bob-mcp-00000000"; // reader: read tools only
const CAROL: &str = "sk-carol-mcp-000000"; // reader with a zero budget

type Front = McpFront<BoxCloneSyncService<McpRequest, McpResponse, BoxError>>;

fn gateway(fs: &FakeMcpServer) -> Front {
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fs").unwrap(), fs.clone()))
        .build()
        .unwrap();
    let keys = ApiKeys::new()
        .with_key(
            Secret::new(ALICE.into()),
            Principal::new("alice").with_role("admin"),
        )
        .with_key(
            Secret::new(BOB.into()),
            Principal::new("bob").with_role("reader"),
        )
        .with_key(
            Secret::new(CAROL.into()),
            Principal::new("carol").with_role("reader"),
        );
    let rules = Rules::new()
        .allow(
            "protocol",
            r#"action in ["protocol", "discovery", "list_tools"]"#,
        )
        .allow("admins", r#""admin" in caller.roles"#)
        .allow(
            "readers",
            r#""reader" in caller.roles && target.startsWith("fs__read")"#,
        )
        .compile()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let rate = Rate::new(NonZeroU64::new(3).unwrap(), Duration::from_secs(3600));
    let budget = BudgetLayer::new(store.clone())
        .with_key(Subject)
        .with_scope_limit(
            agent_gateway_policy::budget::Scope::key("carol"),
            Cost::ZERO,
        )
        .with_limit(Level::Key, Cost::from_nano_usd(u64::MAX / 2));
    let stack =
        ServiceBuilder::new()
            .layer(AuthLayer::new(keys))
            .layer(AuthorizeLayer::new(rules))
            // Tool calls only: a legacy session's housekeeping (initialize, notifications) goes
            // through the stack too, and would count otherwise.
            .layer(QuotaLayer::new(store).with_limit(
                Limit::requests("hourly", Subject, rate).with_actions([Action::ToolCall]),
            ))
            .layer(budget)
            .service(fed);
    McpFront::new(
        BoxCloneSyncService::new(stack),
        McpFrontConfig::new("gw", "1").unwrap(),
    )
}

#[tokio::test]
async fn each_denial_is_a_json_rpc_error_in_both_eras_and_no_upstream_call() {
    let fs = FakeMcpServer::new()
        .with_echo_tool("read_file")
        .with_echo_tool("delete_file");
    let front = gateway(&fs);
    for era in ["modern", "legacy"] {
        let client = |key: Option<&str>| {
            let c = if era == "modern" {
                McpClient::modern(front.clone())
            } else {
                McpClient::legacy(front.clone())
            };
            match key {
                Some(key) => c.with_bearer(key),
                None => c,
            }
        };
        let before = fs.calls_of("tools/call");
        // Unauthenticated.
        let err = client(None)
            .call_tool("fs__read_file", json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32001), "{era}: {err:?}");

        // Allowed.
        let bob = client(Some(BOB));
        bob.call_tool("fs__read_file", json!({"p": 1}))
            .await
            .unwrap();
        assert_eq!(fs.calls_of("tools/call"), before + 1, "{era}");

        // Forbidden by a CEL rule.
        let err = bob
            .call_tool("fs__delete_file", json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32003), "{era}: {err:?}");

        // Budget exhausted (carol's is zero).
        let carol = client(Some(CAROL));
        let err = carol
            .call_tool("fs__read_file", json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32005), "{era}: {err:?}");
        assert_eq!(
            fs.calls_of("tools/call"),
            before + 1,
            "{era}: no upstream call on denial"
        );
    }

    // Quota: alice has 3 an hour over both eras; her fourth call is refused with -32004.
    // A builder call on a clone applies to that clone only (it once silently did nothing).
    let anonymous = McpClient::modern(front.clone());
    let alice = anonymous.clone().with_bearer(ALICE);
    let err = anonymous
        .call_tool("fs__read_file", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-32001), "the original stays anonymous");
    let before = fs.calls_of("tools/call");
    for _ in 0..3 {
        alice.call_tool("fs__delete_file", json!({})).await.unwrap();
    }
    let err = alice
        .call_tool("fs__delete_file", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-32004), "{err:?}");
    assert_eq!(fs.calls_of("tools/call"), before + 3);
}

#[tokio::test]
async fn tool_lists_are_filtered_per_caller_by_the_same_rules() {
    let fs = FakeMcpServer::new()
        .with_echo_tool("read_file")
        .with_echo_tool("delete_file");
    let front = gateway(&fs);
    let names = |key: &'static str| {
        let client = McpClient::modern(front.clone()).with_bearer(key);
        async move {
            let mut names: Vec<String> = client
                .list_tools()
                .await
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names(ALICE).await, ["fs__delete_file", "fs__read_file"]);
    assert_eq!(names(BOB).await, ["fs__read_file"]);
}
