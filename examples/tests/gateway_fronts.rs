//! The `gateway` binary's protocol fronts behind the policy stack: the LLM, MCP and A2A
//! demo upstreams, and an MCP stdio upstream whose process lives and dies with the gateway.

mod gateway;
mod peers;

use std::process::Command;
use std::time::Duration;

use gateway::{http, http_get_with, http_post_json, mcp_modern, rpc_answer, start};

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
