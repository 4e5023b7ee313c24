//! Where the real peers of the a2a tests live, and skipping a test whose peer is missing: a
//! real-peer test starts with `let Some(python) = peers::python() else { return };`, before
//! doing any work. Without `AGW_REQUIRE_PEERS=1` a missing peer is one `skipped:` line on
//! stderr; with it (`.ci/test` sets it) the test fails, saying how to install the peer.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_gateway_a2a::registry::{Agent, AgentRegistry, http_connector};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest, A2aResponse};
pub use agent_gateway_core::testkit::peers::{dir as peers_dir, find as peer};
use agent_gateway_core::{BoxError, Secret};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tower::Service;

/// The venv's python (a2a-sdk 1.3.0), or `None` (see [`peer`]).
pub fn python() -> Option<PathBuf> {
    peer(
        peers_dir().join("venv/bin/python"),
        "the a2a-sdk python venv",
        "the a2a-sdk peers need it (run .ci/peers, or set AGW_PEERS_DIR)",
    )
}

/// The `@a2a-js/sdk` directory, or `None` (see [`peer`]).
pub fn a2a_js() -> Option<PathBuf> {
    let js = peers_dir().join("a2a-js");
    peer(
        js.join("node_modules/@a2a-js/sdk/package.json"),
        "the @a2a-js/sdk client",
        "run .ci/peers, or set AGW_PEERS_DIR",
    )?;
    Some(js)
}

/// `node` on PATH, or `None` (see [`peer`]).
pub fn node() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("node"))
            .find(|p| p.is_file())
    });
    peer(
        found.unwrap_or_else(|| PathBuf::from("node")),
        "node (on PATH)",
        "install Node >= 20 and put it on PATH",
    )
}

/// A peer script of `tests/peers/a2a`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/peers/a2a")
        .join(name)
}

/// Starts `agent.py` with `args` on the venv's python and returns it with the port it
/// listens on. The test checked [`python`] first.
pub async fn sdk_agent(args: &[&str]) -> (Child, u16) {
    let python = python().expect("the test checked for its peer first");
    let mut child = Command::new(python)
        .arg(script("agent.py"))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the agent reports its port within a minute")
        .expect("readable stdout")
        .expect("a line");
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("PORT <n>");
    (child, port)
}

/// Runs the python peer `script` with `args` (and `stdin`), and returns its JSON lines; fails
/// the test if it fails.
pub async fn run_python(name: &str, args: &[&str], stdin: Option<&str>) -> Vec<Value> {
    use tokio::io::AsyncWriteExt;

    let python = python().expect("the test checked for its peer first");
    let mut child = Command::new(python)
        .arg(script(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the script starts");
    let mut input = child.stdin.take().expect("piped stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .await
        .expect("stdin written");
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the script finishes within a minute")
        .expect("it runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// One instance of a registered agent: its id, the port of its a2a-sdk agent on 127.0.0.1
/// (JSON-RPC at `/`), and the version the gateway speaks to it.
pub type Instance<'a> = (&'a str, u16, Version);

/// A registry of `agents`, each a name and its instances, reached over HTTP.
pub fn registry(agents: &[(&str, &[Instance<'_>])]) -> AgentRegistry {
    let mut builder = AgentRegistry::builder();
    for (name, instances) in agents {
        let mut agent = Agent::new(name).expect("a name");
        for (id, port, version) in instances.iter() {
            let url = format!("http://127.0.0.1:{port}/");
            agent = agent
                .instance(id, &url, *version, http_connector())
                .expect("an instance");
        }
        builder = builder.agent(agent);
    }
    builder.build().expect("a registry")
}

/// A gateway front served by axum on a 127.0.0.1 port the OS picked; it stops when dropped.
#[derive(Debug)]
pub struct Gateway {
    /// Where the front is mounted: `http://127.0.0.1:{port}`.
    pub base: String,
    server: JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the front `make` builds for the base URL it is reached at.
pub async fn serve<S>(make: impl FnOnce(&str) -> A2aFront<S>) -> Gateway
where
    S: Service<A2aRequest, Response = A2aResponse> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let front = make(&base);
    let server = tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback_service(front))
            .await
            .expect("the gateway serves");
    });
    Gateway { base, server }
}

/// The usual gateway: `registry` behind a router sealing ids with a key of `key` bytes, and a
/// front whose settings `config` completes (the router gets the same webhook allow-list).
/// Returns the sealer too, to open the ids clients see.
pub async fn gateway(
    registry: AgentRegistry,
    key: u8,
    config: impl FnOnce(A2aFrontConfig) -> A2aFrontConfig,
) -> (Gateway, Sealer) {
    let sealer = Sealer::new(Secret::new(vec![key; 32])).expect("a key");
    let router_sealer = sealer.clone();
    let gateway = serve(move |base| {
        let config = config(A2aFrontConfig::new(base).expect("a URL"));
        let router =
            A2aRouter::new(registry, router_sealer).with_webhooks(config.webhooks().clone());
        A2aFront::new(router, config)
    })
    .await;
    (gateway, sealer)
}

/// Sends `cases` (raw HTTP, see `raw.py`, `{name}` placeholders included) to `base`, each
/// case's path prefixed: JSON-RPC (`/`) with `rpc`, HTTP+JSON with `rest`; the root card is
/// left alone. The agent alone serves JSON-RPC at `/` and HTTP+JSON under `/rest`; the gateway
/// both under `/{agent}`.
pub async fn raw(base: &str, rpc: &str, rest: &str, cases: &[Value]) -> Vec<Value> {
    let cases: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut c = c.clone();
            let path = c["path"].as_str().expect("a path");
            let prefix = match path {
                "/" => rpc,
                p if p.starts_with("/.well-known") => "",
                _ => rest,
            };
            c["path"] = format!("{prefix}{path}").into();
            c
        })
        .collect();
    let stdin = Value::from(cases).to_string();
    run_python("raw.py", &[base], Some(&stdin)).await
}

/// A JSON-RPC case: `POST /` with `method` and `params`, and `id` if any.
pub fn rpc(id: Option<i64>, method: &str, params: Value) -> Value {
    let mut body = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
    if let Some(id) = id {
        body["id"] = id.into();
    }
    serde_json::json!({"method": "POST", "path": "/", "body": body})
}

/// `case` with the `A2A-Version: 1.0` header.
pub fn v1(mut case: Value) -> Value {
    case["headers"] = serde_json::json!({"A2A-Version": "1.0"});
    case
}

/// An HTTP+JSON case: `method` on `path`, with `body` unless null; 1.0 but for `/v1/` paths.
pub fn rest(method: &str, path: &str, body: Value) -> Value {
    let mut case = serde_json::json!({"method": method, "path": path});
    if !body.is_null() {
        case["body"] = body;
    }
    if path.starts_with("/v1/") {
        case
    } else {
        v1(case)
    }
}

/// `case`, saving values of its answer for later cases (see `raw.py`).
pub fn save(mut case: Value, names: &[(&str, &str)]) -> Value {
    for (name, pointer) in names {
        case["save"][*name] = (*pointer).into();
    }
    case
}

/// Members whose values differ between two runs of the same requests (ids the agent or the
/// gateway mints, an agent's message ids among them, times, page tokens): compared as "set" or
/// "unset" only.
const VARYING: [&str; 8] = [
    "id",
    "messageId",
    "taskId",
    "contextId",
    "artifactId",
    "timestamp",
    "nextPageToken",
    "name",
];

/// `v` with every [`VARYING`] string member replaced by whether it is empty.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(obj) => obj
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) if VARYING.contains(&k.as_str()) => (
                    k.clone(),
                    Value::from(if s.is_empty() { "" } else { "<set>" }),
                ),
                v => (k.clone(), shape(v)),
            })
            .collect(),
        Value::Array(items) => items.iter().map(shape).collect(),
        v => v.clone(),
    }
}

/// What a client sees of an answer: status, kind, and per message (the body, or each event)
/// its JSON-RPC error code (or "result") and id, an HTTP+JSON error's code and ErrorInfo
/// reason, and with `results`, the result's [`shape`].
pub fn seen(answer: &Value, results: bool) -> Value {
    let message = |m: &Value| {
        let error = m.get("error");
        let rpc = m.get("jsonrpc").is_some();
        let mut seen = serde_json::json!({
            "code": error.and_then(|e| e.get("code")).cloned().unwrap_or_else(|| "result".into()),
            "id": m.get("id").filter(|_| rpc).cloned().unwrap_or(Value::Null),
            "reason": m.pointer("/error/details/0/reason").cloned().unwrap_or(Value::Null),
        });
        if results && error.is_none() {
            // A JSON-RPC result left out (a2a-sdk's 0.3 delete) is a null one.
            let result = if rpc {
                m.get("result").unwrap_or(&Value::Null)
            } else {
                m
            };
            seen["result"] = shape(result);
        }
        seen
    };
    let body = match &answer["body"] {
        Value::Array(events) => events.iter().map(message).collect(),
        one => message(one),
    };
    serde_json::json!({"status": answer["status"], "type": answer["type"], "body": body})
}
