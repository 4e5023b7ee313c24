//! What the real-peer tests share: where the pinned peers live (skipping, or with
//! `AGW_REQUIRE_PEERS=1` failing clearly, when they are missing), the python fixture server,
//! the python client, and serving a front with axum.
//!
//! A real-peer test starts with `let Some(_) = python_peer() else { return };` (and the like),
//! before doing any work.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

pub mod conformance;
pub mod everything;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub use agent_gateway_core::testkit::peers::{dir as peers_dir, find as peer};

/// The venv's python, or `None` (see [`peer`]).
pub fn python_peer() -> Option<PathBuf> {
    peer(
        peers_dir().join("venv/bin/python"),
        "the python MCP SDK venv",
        "run .ci/peers (it installs mcp==2.3.0 into .ci/cache/venv) or point AGW_PEERS_DIR at a \
         cache that has it",
    )
}

pub fn python() -> PathBuf {
    let dir = peers_dir();
    let python = dir.join("venv/bin/python");
    assert!(
        python.is_file(),
        "the python MCP SDK venv is missing at {}: run .ci/peers (it installs mcp==2.3.0 into \
         .ci/cache/venv) or point AGW_PEERS_DIR at a cache that has it",
        python.display()
    );
    python
}

pub fn script(name: &str) -> PathBuf {
    workspace().join("tests/peers/mcp").join(name)
}

/// Starts the python fixture server; its URL and the child (killed on drop).
pub async fn fixture_server() -> (String, Child) {
    python_server("fixture_server.py").await
}

/// Starts the python server `name` (in tests/peers/mcp) that prints `PORT <n>`; its URL and
/// the child (killed on drop).
pub async fn python_server(name: &str) -> (String, Child) {
    python_server_with(name, &[]).await
}

/// [`python_server`] with these arguments after the script.
pub async fn python_server_with(name: &str, args: &[&str]) -> (String, Child) {
    let mut child = Command::new(python())
        .arg(script(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start a python server");
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
pub async fn serve<F>(front: F) -> String
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
pub async fn python_client(url: &str, mode: &str, tool: &str, args: &str) -> Value {
    python_report("client.py", url, mode, tool, args).await
}

/// Runs the python client `name` (in tests/peers/mcp, taking `<url> <mode> <tool> <args>`)
/// against `url`; the JSON line it prints.
pub async fn python_report(name: &str, url: &str, mode: &str, tool: &str, args: &str) -> Value {
    let out = Command::new(python())
        .arg(script(name))
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

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

const MCP_JS_PACKAGES: [&str; 3] = [
    "@modelcontextprotocol/sdk",
    "@modelcontextprotocol/client",
    "@modelcontextprotocol/server-everything",
];

const MCP_JS_HINT: &str = "run .ci/peers (it installs the pinned MCP npm packages into \
                           .ci/cache/mcp-js) or point AGW_PEERS_DIR at a cache that has them";

/// `node` (Node >= 20) on PATH, or `None` (see [`peer`]).
pub fn node_peer() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("node"))
            .find(|p| p.is_file())
    });
    peer(
        found.unwrap_or_else(|| PathBuf::from("node")),
        "node (Node >= 20 on PATH)",
        "install Node >= 20 and put it on PATH",
    )
}

/// The npm peers' directory, or `None` (see [`peer`]) when a package of it is missing.
pub fn mcp_js_peer() -> Option<PathBuf> {
    let dir = peers_dir().join("mcp-js");
    for package in MCP_JS_PACKAGES {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        peer(manifest, &format!("the npm peer {package}"), MCP_JS_HINT)?;
    }
    Some(dir)
}

/// The npm peers' directory (`@modelcontextprotocol/sdk`, `@modelcontextprotocol/client` and
/// `server-everything`), or a failure saying how to install them.
pub fn mcp_js() -> PathBuf {
    let dir = peers_dir().join("mcp-js");
    for package in MCP_JS_PACKAGES {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        assert!(
            manifest.is_file(),
            "the npm peer {package} is missing at {}: {MCP_JS_HINT}",
            manifest.display()
        );
    }
    dir
}

/// Runs the TypeScript SDK v1 client (legacy era only) against `url` with `calls`
/// (`[[tool, arguments], ...]`); its JSON report.
pub async fn ts_client(url: &str, calls: &Value) -> Value {
    node_client("ts_client.mjs", &[url, &calls.to_string()]).await
}

/// Runs the TypeScript SDK v2 client against `url` in `mode` (`legacy`, `auto`, or a modern
/// version to pin) with `calls` (`[[tool, arguments], ...]`); its JSON report.
pub async fn ts_client_v2(url: &str, mode: &str, calls: &Value) -> Value {
    node_client("ts_client_v2.mjs", &[url, mode, &calls.to_string()]).await
}

async fn node_client(script_name: &str, args: &[&str]) -> Value {
    let out = Command::new("node")
        .arg(script(script_name))
        .args(args)
        .env("MCP_JS_DIR", mcp_js())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .unwrap_or_else(|_| panic!("{script_name} finished within 60 s"))
        .expect("run node (Node >= 20 on PATH)");
    assert!(
        out.status.success(),
        "{script_name} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client printed one JSON line")
}
