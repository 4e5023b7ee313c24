//! A legacy session opened by the official python SDK client (a real peer) through the gateway
//! with the auth layer: its owner keeps using it, and a second caller with its own API key gets
//! 404 for a call, a cancellation, a GET stream and a DELETE on it (#11, finding 8).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_core::Secret;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use common::{python, python_peer, script, serve};
use serde_json::{Value, json};
use tower::ServiceBuilder;

const ALICE: &str = "sk-alice-0123456789";
const BOB: &str = "sk-bob-0123456789ab";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_owner_keeps_its_session_and_another_key_gets_404() {
    let Some(_) = python_peer() else { return };
    let fs = FakeMcpServer::new().with_echo_tool("read");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fs").unwrap(), fs.clone()))
        .build()
        .unwrap();
    let keys = ApiKeys::new()
        .with_key(Secret::new(ALICE.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB.to_owned()), Principal::new("bob"));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .service(fed);
    let url = serve(McpFront::new(
        stack,
        McpFrontConfig::new("gw", "1").unwrap(),
    ))
    .await;
    let out = tokio::process::Command::new(python())
        .arg(script("owner_client.py"))
        .args([url.as_str(), ALICE, BOB, "fs__read"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the python client finished within 60 s")
        .expect("run the python client");
    assert!(
        out.status.success(),
        "owner_client.py failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["session"], true, "{report}");
    assert_eq!(
        report["intruder"],
        json!({"call": 404, "cancel": 404, "get": 404, "delete": 404}),
        "{report}"
    );
    assert!(
        !report["content"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["content"], report["after"], "{report}");
    assert_eq!(
        fs.calls_of("tools/call"),
        2,
        "the owner's two calls, none of the intruder's"
    );
}
