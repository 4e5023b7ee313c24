//! The `gateway` binary as a user starts it: a real process on a port the OS picks.

mod peers;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra: &[&str]) -> Gateway {
    start_in(&scratch("run"), extra)
}

/// A fresh directory for one gateway: the embedded defaults' relative `audit/` goes there.
fn scratch(name: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("agw-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn start_in(cwd: &std::path::Path, extra: &[&str]) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gateway");
    let stdout = child.stdout.take().expect("stdout");
    // The first line is read on its own thread, so that a gateway that never prints one
    // fails the test after a bound instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(read) => read.expect("first line"),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway printed no address within 60 s");
        }
    };
    let addr = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("first line is an address: {line:?}"));
    Gateway { child, addr }
}

/// One HTTP/1.1 exchange over a plain socket: `headers` are extra header lines, each ending
/// in CRLF; a body is sent as JSON. Returns (status, head, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    let body_headers = match body {
        Some(b) => format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ),
        None => String::new(),
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}{body_headers}Connection: close\r\n\r\n{}",
        body.unwrap_or("")
    )
    .expect("write request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let status = raw[9..12].parse().expect("status code");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (status, head.to_owned(), body.to_owned())
}

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "GET", path, "", None);
    (status, body)
}

fn http_get_with(addr: SocketAddr, path: &str, headers: &str) -> (u16, String, String) {
    http(addr, "GET", path, headers, None)
}

fn http_post_json(addr: SocketAddr, path: &str, headers: &str, body: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "POST", path, headers, Some(body));
    (status, body)
}

#[test]
fn serves_health_on_an_os_picked_port_with_embedded_defaults() {
    let gw = start(&[]);
    assert_eq!(gw.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(gw.addr.port(), 0);
    let (status, body) = http_get(gw.addr, "/healthz");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(http_get(gw.addr, "/missing").0, 404);
    let (status, body) = http_get(gw.addr, "/");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["fronts"]["mcp"], "/mcp", "{v}");
    assert_eq!(v["fronts"]["a2a"], "/a2a/", "{v}");
    assert_eq!(v["fronts"]["llm"][0], "/v1/chat/completions", "{v}");
}

#[test]
fn reads_a_config_file() {
    let dir = std::env::temp_dir().join(format!("agw-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:1\"\nbody_limit_bytes = 1024\n\
         [llm]\n[[llm.providers]]\nname = \"demo\"\nkind = \"demo\"\n\
         [[llm.deployments]]\nalias = \"demo\"\nprovider = \"demo\"\nmodel = \"demo-1\"\n",
    )
    .expect("write config");
    // --listen wins over the file's address.
    let gw = start(&["--config", path.to_str().unwrap()]);
    assert_ne!(gw.addr.port(), 1);
    assert_eq!(http_get(gw.addr, "/healthz").0, 200);
    // The file's body limit holds: 1024 bytes are served (the file has no `[auth]`), one
    // more byte is refused (413).
    let body = |len: usize| {
        let head = r#"{"model":"demo","messages":[{"role":"user","content":""#;
        let tail = r#""}]}"#;
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    let (status, res) = http_post_json(gw.addr, "/v1/chat/completions", "", &body(1024));
    assert_eq!(status, 200, "{res}");
    assert!(
        res.contains(agent_gateway_examples::llm::DEMO_ANSWER),
        "{res}"
    );
    let (status, res) = http_post_json(gw.addr, "/v1/chat/completions", "", &body(1025));
    assert_eq!(status, 413, "{res}");
}

#[test]
fn a_bad_config_exits_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("agw-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.listen"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_arguments_exit_2_and_help_exits_0() {
    let bad = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--listen"));
}

#[test]
fn the_policy_stack_guards_whoami_with_the_demo_key() {
    let gw = start(&[]);
    let (status, head, body) = http_get_with(gw.addr, "/v1/whoami", "");
    assert_eq!(status, 401, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    let (status, _, _) = http_get_with(gw.addr, "/v1/whoami", "Authorization: Bearer wrong\r\n");
    assert_eq!(status, 401);
    let (status, _, body) = http_get_with(
        gw.addr,
        "/v1/whoami",
        "Authorization: Bearer agw-demo-key\r\n",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["subject"], "demo");
    assert_eq!(v["method"], "api_key");
    let (status, _, body) = http_get_with(gw.addr, "/v1/whoami", "x-api-key: agw-demo-key\r\n");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn quotas_from_the_config_file_refuse_with_retry_after() {
    let dir = std::env::temp_dir().join(format!("agw-quota-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.toml");
    std::fs::write(
        &path,
        r#"
[auth]
required = false

[authorize]
[[authorize.rules]]
id = "anyone"
effect = "allow"
condition = "true"

[[quota]]
id = "tiny"
key = "subject"
limit = 2
period_secs = 3600
"#,
    )
    .unwrap();
    let gw = start(&["--config", path.to_str().unwrap()]);
    assert_eq!(http_get_with(gw.addr, "/v1/whoami", "").0, 200);
    assert_eq!(http_get_with(gw.addr, "/v1/whoami", "").0, 200);
    let (status, head, body) = http_get_with(gw.addr, "/v1/whoami", "");
    assert_eq!(status, 429, "{body}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1800"),
        "{head}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["rule"], "tiny");
}

#[test]
fn the_llm_fronts_serve_the_demo_model_behind_the_policy_stack() {
    let gw = start(&[]);
    let chat = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, body) = http_post_json(gw.addr, "/v1/chat/completions", "", chat);
    assert_eq!(status, 401, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"]["message"].is_string(), "OpenAI dialect: {v}");

    let auth = "Authorization: Bearer agw-demo-key\r\n";
    let (status, body) = http_post_json(gw.addr, "/v1/chat/completions", auth, chat);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        agent_gateway_examples::llm::DEMO_ANSWER
    );

    let messages =
        r#"{"model":"demo","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#;
    let (status, body) = http_post_json(
        gw.addr,
        "/v1/messages",
        "x-api-key: agw-demo-key\r\nanthropic-version: 2023-06-01\r\n",
        messages,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["type"], "message",
        "translated to the Anthropic dialect: {v}"
    );
    assert_eq!(
        v["content"][0]["text"],
        agent_gateway_examples::llm::DEMO_ANSWER
    );

    let (status, body) = http_post_json(gw.addr, "/v1/messages", "x-api-key: wrong\r\n", messages);
    assert_eq!(status, 401, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "error", "Anthropic dialect: {v}");

    let (status, _, body) = http_get_with(gw.addr, "/v1/models", auth);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["id"], "demo");
}

fn mcp_modern(method: &str, name: Option<&str>, params: serde_json::Value) -> (String, String) {
    let mut params = params;
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut headers = format!(
        "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n"
    );
    if let Some(name) = name {
        headers.push_str(&format!("Mcp-Name: {name}\r\n"));
    }
    (headers, body.to_string())
}

#[test]
fn the_mcp_front_federates_the_demo_server_behind_the_policy_stack() {
    let gw = start(&[]);
    let (headers, body) = mcp_modern("tools/list", None, serde_json::json!({}));
    let (status, res) = http_post_json(gw.addr, "/mcp", &headers, &body);
    assert_eq!(status, 401, "{res}");
    let v: serde_json::Value = serde_json::from_str(&res).unwrap();
    assert_eq!(v["error"]["code"], -32001, "{v}");

    let auth = format!("Authorization: Bearer agw-demo-key\r\n{headers}");
    let (status, res) = http_post_json(gw.addr, "/mcp", &auth, &body);
    assert_eq!(status, 200, "{res}");
    let v: serde_json::Value = serde_json::from_str(&res).unwrap();
    assert_eq!(v["result"]["tools"][0]["name"], "demo__echo", "{v}");

    let (headers, body) = mcp_modern(
        "tools/call",
        Some("demo__echo"),
        serde_json::json!({"name": "demo__echo", "arguments": {"x": 1}}),
    );
    let auth = format!("Authorization: Bearer agw-demo-key\r\n{headers}");
    let (status, res) = http_post_json(gw.addr, "/mcp", &auth, &body);
    assert_eq!(status, 200, "{res}");
    let v: serde_json::Value = serde_json::from_str(&res).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], r#"echo:{"x":1}"#, "{v}");
}

#[test]
fn mcp_401_names_the_protected_resource_metadata_which_is_served() {
    let dir = std::env::temp_dir().join(format!("agw-prm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.toml");
    std::fs::write(
        &path,
        r#"
[auth.resource_metadata]
resource = "https://gw.example.com/mcp"
authorization_servers = ["https://login.example.com"]
scopes = ["mcp:tools"]

[mcp]
[[mcp.upstreams]]
name = "demo"
demo = true
"#,
    )
    .unwrap();
    let gw = start(&["--config", path.to_str().unwrap()]);
    let (headers, body) = mcp_modern("tools/list", None, serde_json::json!({}));
    let (status, raw, _) = http(gw.addr, "POST", "/mcp", &headers, Some(&body));
    assert_eq!(status, 401, "{raw}");
    let challenge = raw
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
        .unwrap_or_else(|| panic!("a challenge: {raw}"));
    assert!(
        challenge.contains(
            r#"resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp""#
        ),
        "{challenge}"
    );
    let (status, _, body) = http_get_with(gw.addr, "/.well-known/oauth-protected-resource/mcp", "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["resource"], "https://gw.example.com/mcp");
    assert_eq!(v["authorization_servers"][0], "https://login.example.com");
    assert_eq!(v["scopes_supported"][0], "mcp:tools");
}

#[test]
fn the_a2a_front_serves_the_demo_agent_behind_the_policy_stack() {
    let gw = start(&[]);
    let auth = "Authorization: Bearer agw-demo-key\r\n";
    let (status, _, body) = http_get_with(gw.addr, "/a2a/demo/.well-known/agent-card.json", auth);
    assert_eq!(status, 200, "{body}");
    let card: serde_json::Value = serde_json::from_str(&body).unwrap();
    let url = format!("http://{}/a2a/demo", gw.addr);
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        url.as_str(),
        "{card}"
    );

    let send = serde_json::json!({
        "jsonrpc": "2.0", "id": "1", "method": "SendMessage",
        "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}
    })
    .to_string();
    let (status, body) = http_post_json(gw.addr, "/a2a/demo", "A2A-Version: 1.0\r\n", &send);
    assert_eq!(status, 401, "{body}");
    let (status, body) = http_post_json(
        gw.addr,
        "/a2a/demo",
        &format!("{auth}A2A-Version: 1.0\r\n"),
        &send,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v.get("error").is_none(), "{v}");
    // The demo agent's answer: a completed task whose artifact echoes the message.
    let task = &v["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{v}");
    assert_eq!(task["artifacts"][0]["parts"][0]["text"], "echo: hi", "{v}");

    let (status, _, body) = http_get_with(gw.addr, "/a2a/", auth);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"demo\""),
        "discovery lists the demo agent: {body}"
    );
}

/// The peers' python; each test that uses it has checked `peers::python()` at its start.
fn python() -> std::path::PathBuf {
    peers::python().expect("the test checked for its peer first")
}

/// The JSON-RPC answer in an MCP response body: plain JSON, or the last SSE event with an id.
fn rpc_answer(head: &str, body: &str) -> serde_json::Value {
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (mut rest, mut out) = (body, String::new());
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).unwrap_or_else(|_| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
            .rfind(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("a JSON-RPC answer: {head}\n\n{body}"))
    })
}

#[test]
fn a_stdio_upstream_starts_with_the_gateway_and_leaves_when_it_is_terminated() {
    let Some(_) = peers::python() else { return };
    let dir = std::env::temp_dir().join(format!("agw-stdio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gw.toml");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/mcp/stdio_server.py");
    let quoted = |p: &std::path::Path| serde_json::to_string(&p.display().to_string()).unwrap();
    std::fs::write(
        &path,
        format!(
            "[auth]\nrequired = false\n[mcp]\n[[mcp.upstreams]]\nname = \"py\"\n\
             command = {}\nargs = [{}]\nprefix = false\n",
            quoted(&python()),
            quoted(&script)
        ),
    )
    .unwrap();
    let mut gw = start(&["--config", path.to_str().unwrap()]);

    // Bounded polling for the child's handshake: its `pid` tool is listed within 60 s.
    let (headers, body) = mcp_modern("tools/list", None, serde_json::json!({}));
    let listed = (0..600).any(|_| {
        let (_, head, res) = http(gw.addr, "POST", "/mcp", &headers, Some(&body));
        let found = rpc_answer(&head, &res).to_string().contains("\"pid\"");
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    assert!(
        listed,
        "the stdio upstream's tools were not listed within 60 s"
    );
    let (headers, body) = mcp_modern(
        "tools/call",
        Some("pid"),
        serde_json::json!({"name": "pid", "arguments": {}}),
    );
    let (status, head, res) = http(gw.addr, "POST", "/mcp", &headers, Some(&body));
    assert_eq!(status, 200, "{res}");
    let answer = rpc_answer(&head, &res);
    let pid = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a pid: {answer}"))
        .to_owned();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());

    // SIGTERM: the gateway stops serving, shuts its child down, and exits.
    let term = Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = (0..200)
        .find_map(|_| {
            let status = gw.child.try_wait().unwrap();
            if status.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            status
        })
        .expect("the gateway exited within 10 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the stdio child {pid} outlived the gateway"
    );
}

/// One `GET /v1/whoami` with `traceparent` naming `id`; true when its whole 200 response came
/// back. Any failure (the gateway was killed) is false.
fn whoami_traced(addr: SocketAddr, id: u64) -> bool {
    let exchange = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET /v1/whoami HTTP/1.1\r\nHost: {addr}\r\ntraceparent: 00-{id:032x}-00f067aa0ba902b7-01\r\nConnection: close\r\n\r\n"
        )?;
        let mut raw = String::new();
        s.read_to_string(&mut raw)?;
        // The whole body: the caller JSON ends the response.
        Ok(raw.starts_with("HTTP/1.1 200") && raw.trim_end().ends_with('}'))
    };
    exchange().unwrap_or(false)
}

#[test]
fn killed_under_load_with_fsync_always_every_answered_call_has_its_record() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = scratch("audit-kill");
    let config = dir.join("gw.toml");
    std::fs::write(
        &config,
        "[server]\nunauthenticated_per_minute = 0\n[auth]\nrequired = false\n\
         [audit]\npath = \"audit\"\nfsync = \"always\"\n",
    )
    .unwrap();
    let mut gw = start_in(&dir, &["--config", config.to_str().unwrap()]);
    let addr = gw.addr;
    let answered = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(1));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (answered, stop, next) = (answered.clone(), stop.clone(), next.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    if whoami_traced(addr, id) {
                        answered.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    // Kill it mid-run, once it has answered a good number of calls (bounded wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while answered.lock().unwrap().len() < 300 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    gw.child.kill().expect("SIGKILL");
    gw.child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 300, "only {} answered", answered.len());

    // The log verifies up to its last complete record (a torn line is reported, not fatal)...
    let log = dir.join("audit");
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["audit", "verify"])
        .arg(&log)
        .output()
        .expect("run verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    // ... and holds a record of every call whose response a client received.
    let mut recorded = std::collections::HashSet::new();
    for segment in std::fs::read_dir(&log).unwrap() {
        let text = std::fs::read_to_string(segment.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| l.ends_with('}')) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(trace) = v["trace_id"].as_str() {
                recorded.insert(u64::from_str_radix(trace, 16).unwrap());
            }
        }
    }
    let missing: Vec<_> = answered
        .iter()
        .filter(|id| !recorded.contains(id))
        .collect();
    assert!(missing.is_empty(), "answered without a record: {missing:?}");

    // Tampering with one record makes the subcommand exit 1, naming it.
    let segment = std::fs::read_dir(&log)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&segment).unwrap();
    std::fs::write(&segment, text.replacen("\"seq\":3,", "\"seq\":3, ", 1)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["audit", "verify"])
        .arg(&log)
        .output()
        .expect("run verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("record 3 "), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
