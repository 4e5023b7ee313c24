//! Real peers: a fixture server and a client written on the official python `mcp` SDK
//! (pinned in `.ci/peers`), with the gateway between them on 127.0.0.1 ports the OS picks.
//!
//! The python lives in the venv under `$AGW_PEERS_DIR` (default `<workspace>/.ci/cache`).
//! Without it these tests FAIL, saying how to install it: a real-peer test that silently
//! passes proves nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::federation::{Federation, Member};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{FrontConfig, McpFront};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let dir = std::env::var_os("AGW_PEERS_DIR")
        .map_or_else(|| workspace().join(".ci/cache"), PathBuf::from);
    let python = dir.join("venv/bin/python");
    assert!(
        python.is_file(),
        "the python MCP SDK venv is missing at {}: run .ci/peers (it installs mcp==2.3.0 into \
         .ci/cache/venv) or point AGW_PEERS_DIR at a cache that has it",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    workspace().join("tests/peers/mcp").join(name)
}

/// Starts the python fixture server; its URL and the child (killed on drop).
async fn fixture_server() -> (String, Child) {
    let mut child = Command::new(python())
        .arg(script("fixture_server.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the python fixture server");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the fixture server printed its port within 60 s")
        .unwrap()
        .expect("the fixture server printed a line");
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("a `PORT <n>` line");
    // Keep draining its stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (format!("http://127.0.0.1:{port}/mcp"), child)
}

/// Serves `front` with axum on 127.0.0.1, on a port the OS picks; the gateway's URL.
async fn serve<F>(front: F) -> String
where
    F: tower::Service<
            http::Request<axum::body::Body>,
            Response = http::Response<agent_gateway_mcp::front::ResponseBody>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    F::Future: Send + 'static,
{
    let app = axum::Router::new().route_service("/mcp", front);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

/// Runs the python SDK client against `url`; its JSON report.
async fn python_client(url: &str, mode: &str, tool: &str, args: &str) -> Value {
    let out = Command::new(python())
        .arg(script("client.py"))
        .args([url, mode, tool, args])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the python client finished within 60 s")
        .expect("run the python client");
    assert!(
        out.status.success(),
        "python client ({mode}, {tool}) failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client printed one JSON line")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_client_through_the_gateway_to_a_python_sdk_server_in_both_eras() {
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
        FrontConfig::new("agent-gateway", "test").unwrap(),
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
    let (fixture_url, _server) = fixture_server().await;
    let fixture = HttpUpstream::connect(fixture_url.parse().unwrap())
        .with_era(agent_gateway_mcp::Era::Legacy);
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fixture").unwrap(), fixture))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        FrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;
    // A modern client in front of a legacy upstream session, and a legacy one.
    for mode in ["2026-07-28", "legacy"] {
        let report = python_client(&gateway, mode, "fixture__add", r#"{"a": 40, "b": 2}"#).await;
        assert_eq!(strings(&report["content"]), ["42"], "{mode}");
    }
}
