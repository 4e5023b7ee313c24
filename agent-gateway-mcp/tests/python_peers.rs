//! Real peers: a fixture server and a client written on the official python `mcp` SDK
//! (pinned in `.ci/peers`), with the gateway between them on 127.0.0.1 ports the OS picks.
//!
//! The python lives in the venv under `$AGW_PEERS_DIR` (default `<workspace>/.ci/cache`).
//! Without it these tests skip with a one-line notice, and with `AGW_REQUIRE_PEERS=1` (set by
//! `.ci/test`) FAIL, saying how to install it: a real-peer test that silently passes proves
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use common::{fixture_server, python_client, serve, strings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_gateway_to_a_python_sdk_server_in_both_eras() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (fixture_url, _server) = fixture_server().await;
    let fixture = HttpUpstream::connect(fixture_url.parse().unwrap());
    let local = FakeMcpServer::new().with_echo_tool("ping-back");
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("fixture").unwrap(),
            fixture.clone(),
        ))
        .member(Member::new(
            ServerName::new("local-fake").unwrap(),
            local.clone(),
        ))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        McpFrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;

    for (mode, version) in [
        ("2026-07-28", "2026-07-28"),
        ("auto", "2026-07-28"),
        ("legacy", "2025-11-25"),
    ] {
        let report = python_client(&gateway, mode, "fixture__add", r#"{"a": 2, "b": 3}"#).await;
        assert_eq!(report["protocolVersion"], version, "{mode}: {report}");
        assert_eq!(
            strings(&report["tools"]),
            [
                "fixture__add",
                "fixture__echo-text",
                "local-fake__ping-back"
            ],
            "{mode}"
        );
        assert_eq!(strings(&report["content"]), ["5"], "{mode}");
        assert_eq!(report["isError"], false);

        let report = python_client(&gateway, mode, "fixture__echo-text", r#"{"text": "hé"}"#).await;
        assert_eq!(strings(&report["content"]), ["echo:hé"], "{mode}");
        let report = python_client(&gateway, mode, "local-fake__ping-back", r#"{"n": 1}"#).await;
        assert_eq!(
            strings(&report["content"]),
            [r#"ping-back:{"n":1}"#],
            "{mode}"
        );
    }
    assert_eq!(fixture.era().await, Some(agent_gateway_mcp::Era::Modern));
    assert_eq!(local.calls_of("tools/call"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_speaks_legacy_to_the_python_server_when_pinned() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (fixture_url, _server) = fixture_server().await;
    let fixture = HttpUpstream::connect(fixture_url.parse().unwrap())
        .with_era(agent_gateway_mcp::Era::Legacy);
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("fixture").unwrap(),
            fixture.clone(),
        ))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        McpFrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;
    // A modern client in front of a legacy upstream session, and a legacy one.
    for mode in ["2026-07-28", "legacy"] {
        let report = python_client(&gateway, mode, "fixture__add", r#"{"a": 40, "b": 2}"#).await;
        assert_eq!(strings(&report["content"]), ["42"], "{mode}");
    }
    // The upstream hop was legacy: the dual-era fixture answers "42" either way, but only the
    // legacy era opens upstream sessions (the modern one has none).
    assert!(
        fixture.open_sessions().await >= 1,
        "the pinned era opened legacy sessions upstream"
    );
}
