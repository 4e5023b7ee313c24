//! The scenario configurations in `examples/configs/`: each passes `gateway --check`, and the
//! gateway starts with it (upstream addresses replaced by in-test fakes or real peers: two
//! a2a-sdk agent instances for the A2A registry) and answers a call.

#![allow(clippy::unwrap_used)] // a failed step fails the test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod gateway;
mod peers;
use gateway::{http, http_get_with, http_post_json, mcp_modern, rpc_answer, start_in};

const SCENARIOS: [&str; 4] = [
    "mcp-federation.toml",
    "a2a-registry.toml",
    "llm-fallback.toml",
    "multi-tenant.toml",
];

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name)
}

/// The variables the scenarios name (keys and tokens), set to well-formed stand-ins.
const ENV: [(&str, &str); 4] = [
    ("SEARCH_MCP_TOKEN", "t"),
    (
        "AGW_A2A_SEAL_KEY",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    ),
    ("OPENAI_API_KEY", "sk-test"),
    ("ANTHROPIC_API_KEY", "sk-ant-test"),
];

#[test]
fn every_scenario_passes_the_check() {
    let dir = gateway::scratch("scenarios");
    // The stdio scenario runs `npx`: what is checked is the file, not this machine, so a
    // stand-in executable is first on PATH.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let npx = bin.join("npx");
    std::fs::write(&npx, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&npx, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for name in SCENARIOS {
        let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["--check", "--config"])
            .arg(scenario(name))
            .current_dir(&dir)
            .envs(ENV)
            .env("PATH", &path)
            .output()
            .expect("gateway --check");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Without the variables, the check names each one.
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--check", "--config"])
        .arg(scenario("llm-fallback.toml"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("gateway --check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("llm.providers[0].api_key_env"), "{stderr}");
    assert!(stderr.contains("llm.providers[1].api_key_env"), "{stderr}");
}

/// The scenario with `replace` pairs applied, written into `dir`.
fn adapted(dir: &Path, name: &str, replace: &[(&str, String)]) -> PathBuf {
    let mut text = std::fs::read_to_string(scenario(name)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{name} has {from}");
        text = text.replace(from, to);
    }
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn the_multi_tenant_scenario_knows_each_tenant_and_serves_a_model_call() {
    let dir = gateway::scratch("scenario-tenant");
    let file = adapted(&dir, "multi-tenant.toml", &[]);
    let gw = start_in(&dir, &["--config", file.to_str().unwrap()]);
    let (status, _, body) = http_get_with(
        gw.addr,
        "/v1/whoami",
        "Authorization: Bearer globex-carol-key\r\n",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["subject"].as_str(), v["tenant"].as_str()),
        (Some("carol"), Some("globex"))
    );

    let chat = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    let auth = "Authorization: Bearer acme-alice-key\r\n";
    let (status, body) = http_post_json(gw.addr, "/v1/chat/completions", auth, chat);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        agent_gateway_examples::llm::DEMO_ANSWER
    );
    let (status, _) = http_post_json(
        gw.addr,
        "/v1/chat/completions",
        "Authorization: Bearer nobody\r\n",
        chat,
    );
    assert_eq!(status, 401);
}

/// An a2a-sdk agent (`tests/peers/a2a/agent.py complete NAME`) on a loopback port the OS
/// picked; killed when dropped.
struct SdkAgent {
    child: std::process::Child,
    port: u16,
}

impl SdkAgent {
    fn start(python: &Path, name: &str) -> SdkAgent {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/a2a/agent.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(["complete", name])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The port line, read on a thread so the wait is bounded.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(std::time::Duration::from_secs(60));
        let port = line
            .ok()
            .and_then(|l| l.trim().strip_prefix("PORT ")?.parse().ok());
        let mut agent = SdkAgent { child, port: 0 };
        agent.port = port.unwrap_or_else(|| panic!("{name} did not report its port within 60 s"));
        agent
    }
}

impl Drop for SdkAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_a2a_registry_scenario_serves_from_either_instance() {
    let Some(python) = peers::python() else {
        return;
    };
    let agents = [
        SdkAgent::start(&python, "travel-1"),
        SdkAgent::start(&python, "travel-2"),
    ];
    let dir = gateway::scratch("scenario-a2a");
    let file = adapted(
        &dir,
        "a2a-registry.toml",
        &[
            ("127.0.0.1:9001", format!("127.0.0.1:{}", agents[0].port)),
            ("127.0.0.1:9002", format!("127.0.0.1:{}", agents[1].port)),
        ],
    );
    let gw = gateway::start_in_env(&dir, &["--config", file.to_str().unwrap()], &ENV);
    let auth = "Authorization: Bearer agw-demo-key\r\n";
    let (status, _, body) = http_get_with(gw.addr, "/a2a/", auth);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("travel"), "{body}");
    // A message to the registry's agent: one instance answers (each echoes with its name).
    let send = |text: &str| {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": {"messageId": text, "role": "ROLE_USER", "parts": [{"text": text}]}}});
        let (status, res) = http_post_json(
            gw.addr,
            "/a2a/travel",
            &format!("{auth}A2A-Version: 1.0\r\n"),
            &body.to_string(),
        );
        assert_eq!(status, 200, "{res}");
        serde_json::from_str::<serde_json::Value>(&res).unwrap()
    };
    let echo = |v: &serde_json::Value| {
        v.pointer("/result/task/artifacts/0/parts/0/text")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_else(|| panic!("an artifact: {v}"))
            .to_owned()
    };
    let first = send("hello");
    let text = echo(&first);
    let served = ["travel-1", "travel-2"]
        .iter()
        .position(|n| text == format!("{n} echo: hello"))
        .unwrap_or_else(|| panic!("an instance's echo: {text}"));
    // That instance stopped, the other serves the next message.
    let [a, b] = agents;
    let (gone, other) = if served == 0 { (a, b) } else { (b, a) };
    drop(gone);
    let second = send("again");
    assert_eq!(
        echo(&second),
        format!("travel-{} echo: again", 2 - served),
        "{second}"
    );
    // The first task stays with its (stopped) instance: reading it is an error, never an
    // answer from the other one.
    let task = first["result"]["task"]["id"].as_str().unwrap();
    let get =
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": task}});
    let (_, res) = http_post_json(
        gw.addr,
        "/a2a/travel",
        &format!("{auth}A2A-Version: 1.0\r\n"),
        &get.to_string(),
    );
    let v: serde_json::Value = serde_json::from_str(&res).unwrap();
    assert!(v.get("error").is_some(), "{v}");
    drop(other);
}

/// A one-answer HTTP server on a loopback port: every request gets `status` and `body`.
fn fake(status: u16, body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut req = vec![0; length];
            let _ = reader.read_exact(&mut req);
            let mut out = stream;
            let _ = write!(
                out,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, calls)
}

#[test]
fn the_llm_fallback_scenario_falls_back_from_openai_to_anthropic() {
    let (openai, openai_calls) = fake(500, r#"{"error":{"message":"down","type":"server_error"}}"#);
    let (anthropic, anthropic_calls) = fake(
        200,
        r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"from anthropic"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":2}}"#,
    );
    let dir = gateway::scratch("scenario-llm");
    let file = adapted(
        &dir,
        "llm-fallback.toml",
        &[
            ("https://api.openai.com/v1", format!("http://{openai}/v1")),
            ("https://api.anthropic.com", format!("http://{anthropic}")),
        ],
    );
    let gw = gateway::start_in_env(&dir, &["--config", file.to_str().unwrap()], &ENV);
    let chat = r#"{"model":"smart","messages":[{"role":"user","content":"hi"}]}"#;
    let auth = "Authorization: Bearer agw-demo-key\r\n";
    let (status, body) = http_post_json(gw.addr, "/v1/chat/completions", auth, chat);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"], "from anthropic",
        "{v}"
    );
    assert!(
        openai_calls.load(Ordering::SeqCst) >= 1,
        "tier 0 was tried first"
    );
    assert_eq!(anthropic_calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_mcp_federation_scenario_serves_its_stdio_and_http_upstreams() {
    let Some(python) = peers::python() else {
        return;
    };
    // The HTTP upstream: another gateway on the embedded defaults, whose `/mcp` serves the
    // demo `echo` tool to the bearer of `agw-demo-key`, the token this scenario sends it.
    let inner = gateway::start(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/mcp/stdio_server.py");
    let quoted = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap();
    let dir = gateway::scratch("scenario-mcp");
    let file = adapted(
        &dir,
        "mcp-federation.toml",
        &[
            ("\"npx\"", quoted(&python)),
            (
                "[\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/srv/shared\"]",
                format!("[{}]", quoted(&script)),
            ),
            ("127.0.0.1:9101", inner.addr.to_string()),
        ],
    );
    let gw = gateway::start_in_env(
        &dir,
        &["--config", file.to_str().unwrap()],
        &[("SEARCH_MCP_TOKEN", "agw-demo-key")],
    );
    let auth = "Authorization: Bearer agw-demo-key\r\n";
    // Bounded polling for the stdio child's handshake: both upstreams' tools are listed
    // within 60 s.
    let (headers, body) = mcp_modern("tools/list", None, serde_json::json!({}));
    let headers = format!("{auth}{headers}");
    let listed = (0..600).find_map(|_| {
        let (_, head, res) = http(gw.addr, "POST", "/mcp", &headers, Some(&body));
        let tools = rpc_answer(&head, &res).to_string();
        if tools.contains("files__pid") && tools.contains("search__demo__echo") {
            Some(tools)
        } else {
            std::thread::sleep(std::time::Duration::from_millis(100));
            None
        }
    });
    assert!(
        listed.is_some(),
        "both upstreams' tools were not listed within 60 s"
    );

    let name = "search__demo__echo";
    let (headers, body) = mcp_modern(
        "tools/call",
        Some(name),
        serde_json::json!({"name": name, "arguments": {"x": 1}}),
    );
    let (status, head, res) = http(
        gw.addr,
        "POST",
        "/mcp",
        &format!("{auth}{headers}"),
        Some(&body),
    );
    assert_eq!(status, 200, "{res}");
    let v = rpc_answer(&head, &res);
    assert_eq!(v["result"]["content"][0]["text"], r#"echo:{"x":1}"#, "{v}");
}
