//! The MCP conformance suite (0.2.0-alpha.12, both requirement sets) against a second,
//! independent upstream: npm `@modelcontextprotocol/server-everything`, the reference server,
//! alone and through the gateway, which fronts it over streamable HTTP (its HTTP mode) and over
//! stdio. The rule (issue #13): **the gateway never lowers the score of a server behind it**.
//! Each requirement set prints a table of scenarios passed alone and through each transport,
//! and the test fails if a scenario that passes alone fails through the gateway.
//!
//! "Alone" is the server's HTTP mode, the only one the suite can reach: its stdio mode serves
//! the same server code, so the HTTP run is the baseline for both transports.
//!
//! Through the gateway the server is the federation's unprefixed member (the suite's names are
//! the server's) beside a second, prefixed in-process upstream, as in `conformance.rs`.
//!
//! Needs Node 22, the suite and server-everything (`.ci/peers`); without them the test skips
//! with a notice, or with `AGW_REQUIRE_PEERS=1` FAILS saying how to install them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::connector::stdio::StdioUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use http::HeaderValue;

use common::conformance::{self, SuiteRun, run_suite, scenarios};
use common::everything;

/// The requirement sets the suite is run with.
const REQUIREMENTS: [&str; 2] = ["2025-11-25", "2026-07-28"];

/// Serves the gateway on 127.0.0.1 with `member` as its unprefixed upstream and a second,
/// prefixed one; its URL.
async fn gateway(member: Member) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let extra = FakeMcpServer::new().with_echo_tool("echo");
    let fed = Federation::builder()
        .member(member.without_prefix())
        .member(Member::new(ServerName::new("extra").unwrap(), extra))
        .build()
        .unwrap();
    let origin = HeaderValue::from_str(&format!("http://{addr}")).unwrap();
    let config = McpFrontConfig::new("agent-gateway", "conformance-everything")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*", "localhost:*"])
        .with_allowed_origins([origin]);
    let app = axum::Router::new().route_service("/mcp", McpFront::new(fed, config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

/// The stdio server's ready signal, awaited for at most 60 s (an external process).
async fn until_ready(upstream: &StdioUpstream) {
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("server-everything over stdio did not finish its handshake within 60 s");
}

/// One requirement set's table: each scenario, passed alone, through HTTP, through stdio.
fn table(requirements: &str, alone: &SuiteRun, through: &[(&str, &SuiteRun)]) -> String {
    let alone = alone.scenarios();
    let through: Vec<(&str, BTreeMap<String, bool>)> =
        through.iter().map(|(t, r)| (*t, r.scenarios())).collect();
    let mark = |p: Option<&bool>| match p {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "-",
    };
    let mut out = format!("--requirements {requirements}\n{:<48} alone", "scenario");
    for (transport, _) in &through {
        out.push_str(&format!("  {transport:<6}"));
    }
    out.push('\n');
    for (scenario, passed) in &alone {
        out.push_str(&format!("{scenario:<48} {:<5}", mark(Some(passed))));
        for (_, runs) in &through {
            out.push_str(&format!("  {:<6}", mark(runs.get(scenario))));
        }
        out.push('\n');
    }
    let count = |s: &BTreeMap<String, bool>| s.values().filter(|p| **p).count();
    out.push_str(&format!("{:<48} {:<5}", "passed", count(&alone)));
    for (_, runs) in &through {
        out.push_str(&format!("  {:<6}", count(runs)));
    }
    out.push('\n');
    out
}

/// The scenarios that pass alone but not `through`.
fn lowered(alone: &SuiteRun, through: &SuiteRun) -> Vec<String> {
    let through = through.scenarios();
    alone
        .scenarios()
        .into_iter()
        .filter(|(s, passed)| *passed && through.get(s) != Some(&true))
        .map(|(s, _)| s)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_never_lowers_server_everythings_score() {
    let Some(_) = conformance::peers() else {
        return;
    };
    let Some(_) = everything::peers() else { return };
    let (alone_url, _alone) = everything::http().await;
    let (upstream_url, _upstream) = everything::http().await;
    let http = Member::new(
        ServerName::new("everything").unwrap(),
        HttpUpstream::connect(upstream_url.parse().unwrap()),
    );
    let via_http = gateway(http).await;
    // As the runnable gateway runs it: each client session on a child of its own, opened
    // with that client's capabilities.
    let stdio = StdioUpstream::spawn(
        "everything",
        everything::stdio().with_relayed_requests(true),
    );
    until_ready(&stdio).await;
    let via_stdio = gateway(Member::new(ServerName::new("everything").unwrap(), stdio)).await;

    let mut failures = Vec::new();
    for requirements in REQUIREMENTS {
        let args = ["--requirements", requirements];
        // Alone and through each transport at once: separate server processes or sessions.
        let (alone, http, stdio) = tokio::join!(
            run_suite("conf-alpha", &alone_url, &args),
            run_suite("conf-alpha", &via_http, &args),
            run_suite("conf-alpha", &via_stdio, &args),
        );
        assert!(
            !alone.scenarios().is_empty(),
            "the suite ran no scenario against server-everything alone:\n{}",
            alone.report()
        );
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{}",
                table(requirements, &alone, &[("http", &http), ("stdio", &stdio)])
            );
        }
        for (transport, run) in [("http", &http), ("stdio", &stdio)] {
            let lost = lowered(&alone, run);
            if !lost.is_empty() {
                failures.push(format!(
                    "--requirements {requirements} through {transport}: {lost:?} pass alone but \
                     not through the gateway\n{}",
                    run.report()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_summary_is_read_per_scenario() {
    let out = "noise\n✓ not: 1 passed, 0 failed\n=== SUMMARY ===\n✓ ping: 2 passed, 0 failed\n\
               ✗ tools-list: 1 passed, 1 failed\n\nTotal: 3 passed, 1 failed\n\
               Not scored: 1\n  ✓ tools-list (pending)\n";
    let s = scenarios(out);
    assert_eq!(
        s.into_iter().collect::<Vec<_>>(),
        [("ping".to_owned(), true), ("tools-list".to_owned(), false)]
    );
    assert!(scenarios("no summary").is_empty());
}
