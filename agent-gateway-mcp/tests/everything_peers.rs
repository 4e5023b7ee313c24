//! Through the gateway, with npm `@modelcontextprotocol/server-everything` as a federated,
//! prefixed upstream (over streamable HTTP, and over stdio where the transport allows), reached
//! by the official python SDK client in both eras (tests/peers/mcp/everything_client.py): what
//! the upstream says reaches the client as it meant it (issue #13 item 8).
//!
//! - A tool's resource links name resources as the client reads them through the gateway.
//! - Log messages the upstream sends on its own, outside any call, reach a legacy client (its
//!   GET stream, at the level it set) and a modern one (its `subscriptions/listen` stream, at
//!   the level it opted in to), and nothing below that level does.
//! - A client declaring roots sees the tool the server shows only to such clients; one that
//!   does not, does not.
//!
//! Needs Node 22, server-everything and the python SDK venv (`.ci/peers`); without them the
//! tests skip with a notice, or with `AGW_REQUIRE_PEERS=1` FAIL saying how to install them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::connector::stdio::StdioUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use serde_json::Value;
use tokio::process::Child;

use common::{everything, serve, strings};

/// The client eras: the python SDK's legacy mode and the modern version it pins.
const MODES: [&str; 2] = ["legacy", "2026-07-28"];

/// The prefix of server-everything's names through the gateway.
const PREFIX: &str = "everything__";

/// The log levels, least severe first.
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

fn peers() -> bool {
    common::python_peer().is_some() && everything::peers().is_some()
}

/// The gateway in front of `member` (prefixed `everything`) and a second upstream; its URL.
async fn gateway(member: Member) -> String {
    let fed = Federation::builder()
        .member(member)
        .member(Member::new(
            ServerName::new("extra").unwrap(),
            FakeMcpServer::new().with_echo_tool("echo"),
        ))
        .build()
        .unwrap();
    let config = McpFrontConfig::new("agent-gateway", "everything")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*", "localhost:*"]);
    serve(McpFront::new(fed, config)).await
}

fn name() -> ServerName {
    ServerName::new("everything").unwrap()
}

/// The gateway in front of server-everything over streamable HTTP; its URL and the server.
async fn over_http() -> (String, Child) {
    let (url, child) = everything::http().await;
    let member = Member::new(name(), HttpUpstream::connect(url.parse().unwrap()));
    (gateway(member).await, child)
}

/// The gateway in front of server-everything over stdio; its URL (the child goes with the
/// test's runtime).
async fn over_stdio() -> String {
    over_stdio_with(everything::stdio()).await
}

/// The same with `config`.
async fn over_stdio_with(config: agent_gateway_mcp::connector::stdio::StdioConfig) -> String {
    let upstream = StdioUpstream::spawn("everything", config);
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("server-everything over stdio did not finish its handshake within 60 s");
    gateway(Member::new(name(), upstream)).await
}

fn severity(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or_else(|| panic!("an MCP log level: {level}"))
}

async fn links_read_through(url: &str, transport: &str) {
    for mode in MODES {
        let report = everything::client(url, mode, &["links", PREFIX]).await;
        let links = strings(&report["links"]);
        assert_eq!(links.len(), 2, "{transport} {mode}: {report}");
        for link in &links {
            assert!(
                link.starts_with("everything+demo://resource/"),
                "{transport} {mode}: a link in the client's names: {link}"
            );
        }
        assert_eq!(report["errors"], Value::Array(vec![]), "{transport} {mode}");
        let read = report["read"].as_array().unwrap();
        let read_uris: Vec<&str> = read.iter().map(|r| r["uri"].as_str().unwrap()).collect();
        assert_eq!(read_uris, links, "{transport} {mode}: every link was read");
        for r in read {
            assert!(
                r.get("text").or_else(|| r.get("blob")).is_some(),
                "{transport} {mode}: {r}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tools_resource_links_are_readable_through_the_gateway() {
    if !peers() {
        return;
    }
    let (url, _server) = over_http().await;
    links_read_through(&url, "http").await;
    let url = over_stdio().await;
    links_read_through(&url, "stdio").await;
}

/// What the client asked for: `notice` and above.
const LEVEL: &str = "notice";

/// Checks one client's report: a message came after its call, and none below its level.
fn check_logs(transport: &str, mode: &str, report: &Value) {
    let after = report["after_call"].as_array().unwrap();
    assert!(
        !after.is_empty(),
        "{transport} {mode}: no log message reached the client after its call: {report}"
    );
    for level in strings(&report["levels_seen"]) {
        assert!(
            severity(&level) >= severity(LEVEL),
            "{transport} {mode}: a `{level}` message reached a client that asked for `{LEVEL}`: \
             {report}"
        );
    }
}

/// Each client starts server-everything's simulated logging on its own upstream session (one
/// per client session, or per capability set) and waits for a message after its call ended.
/// The server sends one at once, then one of a random level every 5 s.
async fn logs_reach_clients_over_http(url: &str) {
    let clients = MODES.map(|mode| async move {
        let args = ["logs", PREFIX, LEVEL, "60", "toggle"];
        (mode, everything::client(url, mode, &args).await)
    });
    for (mode, report) in futures_util::future::join_all(clients).await {
        check_logs("http", mode, &report);
    }
}

/// A stdio child has one session, shared by every client: the first client starts its
/// simulated logging (a second toggle would stop it), then both wait for its messages.
async fn logs_reach_clients_over_stdio(url: &str) {
    let first = everything::client(url, MODES[0], &["logs", PREFIX, LEVEL, "60", "toggle"]).await;
    check_logs("stdio", MODES[0], &first);
    let second =
        everything::client(url, MODES[1], &["logs", PREFIX, LEVEL, "60", "no-toggle"]).await;
    check_logs("stdio", MODES[1], &second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsolicited_log_messages_reach_clients_that_asked_for_their_level() {
    if !peers() {
        return;
    }
    let (url, _server) = over_http().await;
    logs_reach_clients_over_http(&url).await;
    let url = over_stdio().await;
    logs_reach_clients_over_stdio(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_declaring_roots_sees_the_roots_tool() {
    if !peers() {
        return;
    }
    let (url, _server) = over_http().await;
    roots_tool_shown_to_roots_clients(&url, "http").await;
    // Over stdio with relayed requests: each client's own child, opened with its capabilities.
    let url = over_stdio_with(everything::stdio().with_relayed_requests(true)).await;
    roots_tool_shown_to_roots_clients(&url, "stdio").await;
}

async fn roots_tool_shown_to_roots_clients(url: &str, transport: &str) {
    let roots_tool = format!("{PREFIX}get-roots-list");
    let echo = format!("{PREFIX}echo");
    for mode in MODES {
        let with = strings(&everything::client(url, mode, &["roots", "yes"]).await["tools"]);
        assert!(with.contains(&roots_tool), "{transport} {mode}: {with:?}");
        assert!(with.contains(&echo), "{transport} {mode}: {with:?}");
        let without = strings(&everything::client(url, mode, &["roots", "no"]).await["tools"]);
        assert!(
            !without.contains(&roots_tool),
            "{transport} {mode}: {without:?}"
        );
        assert!(without.contains(&echo), "{transport} {mode}: {without:?}");
    }
}
