//! The gateway application in-process, from a TOML string, with stdio MCP upstreams: the
//! python SDK's stdio server (tests/peers/mcp/stdio_server.py) serving names without a
//! prefix, and a probe reporting the environment and directory it was started with. Calls go
//! through the gateway's HTTP endpoint on a port the OS picks; the children stop with the app.
//!
//! Without the python venv of the pinned peers these tests skip with a notice, or with
//! `AGW_REQUIRE_PEERS=1` FAIL, saying how to install it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod peers;

use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_gateway_examples::app::App;
use agent_gateway_examples::config::Config;
use agent_gateway_examples::mcp::INHERITED_ENV;
use agent_gateway_examples::policy::Policies;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The peers' python; each test that uses it has checked `peers::python()` at its start.
fn python() -> PathBuf {
    peers::python().expect("the test checked for its peer first")
}

/// A stdio server with one tool, `report`: the environment and directory it runs with.
const PROBE: &str = r#"
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    method = m["method"]
    if method == "initialize":
        r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {"tools": {}},
             "serverInfo": {"name": "probe", "version": "1"}}
    elif method == "tools/list":
        r = {"tools": [{"name": "report", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        text = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()})
        r = {"content": [{"type": "text", "text": text}]}
    else:
        err = {"code": -32601, "message": "method not found"}
        print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "error": err}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#;

/// `value` as a TOML string: JSON's escapes are TOML's.
fn toml_str(value: &Path) -> String {
    serde_json::to_string(&value.display().to_string()).unwrap()
}

struct Gateway {
    addr: SocketAddr,
    app: App,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Builds the app from `toml`, serves it on 127.0.0.1, and waits (bounded) for its stdio
/// children to finish their handshakes.
async fn start(toml: &str) -> Gateway {
    let mut config = Config::from_toml_str(toml).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.server.listen = addr;
    let app = App::new(&config, &policies).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(
        axum::serve(listener, app.router())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    // Bounded polling for external processes: ready within 60 s, or the test fails.
    for _ in 0..600 {
        if app.children().is_ready() {
            return Gateway {
                addr,
                app,
                stop,
                served,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stdio upstreams did not finish their handshakes within 60 s");
}

/// One modern (2026-07-28) MCP request to the gateway over HTTP/1.1, with `host` as `Host`;
/// the status and the JSON-RPC answer (from a JSON body or the last SSE event).
async fn mcp(addr: SocketAddr, host: &str, method: &str, params: Value) -> (u16, Value) {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let name = params["name"]
        .as_str()
        .map(|n| format!("Mcp-Name: {n}\r\n"));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, text/event-stream\r\n\
         MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n{}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        name.unwrap_or_default(),
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("the gateway answered within 30 s")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let answer = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("a JSON-RPC answer: {raw}")),
    };
    (status, answer)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

fn tool_text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_upstreams_from_toml_serve_through_the_gateway_and_stop_with_it() {
    let Some(_) = peers::python() else { return };
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let ours =
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests");
    let toml = format!(
        r#"
[auth]
required = false

[mcp]
[[mcp.upstreams]]
name = "py"
command = {python}
args = [{script}]
env = {{ PYTHONWARNINGS = "ignore" }}
prefix = false

[[mcp.upstreams]]
name = "probe"
command = {python}
args = ["-c", '''{PROBE}''']
env = {{ ONLY_THIS = "x" }}
env_from = ["CARGO_MANIFEST_DIR"]
cwd = {cwd}

[[mcp.upstreams]]
name = "demo"
demo = true
"#,
        python = toml_str(&python()),
        script = toml_str(&workspace().join("tests/peers/mcp/stdio_server.py")),
        cwd = toml_str(&dir),
    );
    let gw = start(&toml).await;
    let host = gw.addr.to_string();

    let (status, list) = mcp(gw.addr, &host, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{list}");
    let names: BTreeSet<_> = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("tools: {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for name in ["add", "pid", "probe__report", "demo__echo"] {
        assert!(names.contains(name), "{name} in {names:?}");
    }

    // The unprefixed python server's tool, called through the gateway.
    let call = json!({"name": "add", "arguments": {"a": 20, "b": 22}});
    let (status, answer) = mcp(gw.addr, &host, "tools/call", call).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(tool_text(&answer), "42", "{answer}");

    // The probe got only the basics, its env_from and its env, in its own directory.
    let call = json!({"name": "probe__report", "arguments": {}});
    let (status, answer) = mcp(gw.addr, &host, "tools/call", call).await;
    assert_eq!(status, 200, "{answer}");
    let report: Value = serde_json::from_str(tool_text(&answer)).unwrap();
    let env = report["env"].as_object().unwrap();
    assert_eq!(env["ONLY_THIS"], "x");
    assert_eq!(env["CARGO_MANIFEST_DIR"], ours.as_str());
    // LC_CTYPE: python's own locale coercion (PEP 538) may set it.
    let allowed: BTreeSet<&str> = INHERITED_ENV
        .into_iter()
        .chain(["ONLY_THIS", "CARGO_MANIFEST_DIR", "LC_CTYPE"])
        .collect();
    let leaked: Vec<_> = env
        .keys()
        .filter(|k| !allowed.contains(k.as_str()))
        .collect();
    assert!(
        leaked.is_empty(),
        "the gateway's environment leaked: {leaked:?}"
    );
    if std::env::var_os("PATH").is_some() {
        assert!(env.contains_key("PATH"), "{env:?}");
    }
    assert_eq!(report["cwd"], dir.display().to_string());

    // DNS-rebinding protection: on loopback, only loopback names are accepted as `Host`.
    let (status, _) = mcp(gw.addr, "attacker.example:80", "tools/list", json!({})).await;
    assert_eq!(status, 403);
    let (status, _) = mcp(
        gw.addr,
        &format!("localhost:{}", gw.addr.port()),
        "tools/list",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);

    // Stopping the gateway stops its children.
    let (_, answer) = mcp(
        gw.addr,
        &host,
        "tools/call",
        json!({"name": "pid", "arguments": {}}),
    )
    .await;
    let pid = tool_text(&answer).to_owned();
    let _ = gw.stop.send(());
    gw.served.await.unwrap().unwrap();
    gw.app.shutdown().await;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..100 {
        if !proc.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stdio child {pid} is still running after the app shut down");
}

/// Starts the python SDK's legacy HTTP+SSE server (tests/peers/mcp/sse_server.py); its port
/// and the child (killed on drop).
async fn sse_server() -> (u16, tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(python())
        .arg(workspace().join("tests/peers/mcp/sse_server.py"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the SSE server printed its port within 60 s")
        .unwrap()
        .unwrap();
    let port = line.strip_prefix("PORT ").unwrap().parse().unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (port, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_upstream_from_toml_serves_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let (port, _server) = sse_server().await;
    let toml = format!(
        r#"
[auth]
required = false

[mcp]
[[mcp.upstreams]]
name = "old"
url = "http://127.0.0.1:{port}/sse"
transport = "sse"
"#
    );
    let gw = start(&toml).await;
    let host = format!("127.0.0.1:{}", gw.addr.port());
    let (status, listed) = mcp(gw.addr, &host, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{listed}");
    let names: BTreeSet<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let (status, called) = mcp(
        gw.addr,
        &host,
        "tools/call",
        json!({"name": "old__add", "arguments": {"a": 40, "b": 2}}),
    )
    .await;
    assert_eq!(status, 200, "{called}");
    assert_eq!(tool_text(&called), "42");
    assert!(names.contains("old__add"), "{listed}");
    gw.app.shutdown().await;
}
