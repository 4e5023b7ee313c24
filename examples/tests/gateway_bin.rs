//! The `gateway` binary as a user starts it: health on an OS-picked port, its config file and
//! command line, and the policy stack in front of its own routes.

mod gateway;

use std::process::Command;

use gateway::{http_get, http_get_with, http_post_json, start};

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
