//! `gateway --check`: the real binary validates a configuration without serving, and names
//! every problem's key path.

#![allow(clippy::unwrap_used)] // a failed step fails the test

use std::process::{Command, Output};

mod gateway;

fn check(dir: &std::path::Path, config: &str) -> Output {
    let file = dir.join("gw.toml");
    std::fs::write(&file, config).expect("write config");
    Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--check")
        .arg("--config")
        .arg(&file)
        .current_dir(dir)
        // Nothing may be served or started: no port is named, no stdio command runs.
        .env_remove("AGW_CHECK_TEST_KEY")
        .output()
        .expect("run gateway --check")
}

#[test]
fn a_valid_file_exits_zero_and_creates_nothing() {
    let dir = gateway::scratch("check-ok");
    let out = check(
        &dir,
        "[server]\nlisten = \"127.0.0.1:1\"\n\
         [authorize]\n[[authorize.rules]]\nid = \"all\"\neffect = \"allow\"\ncondition = \"true\"\n\
         [llm]\n[[llm.providers]]\nname = \"demo\"\nkind = \"demo\"\n\
         [[llm.deployments]]\nalias = \"demo\"\nprovider = \"demo\"\nmodel = \"demo-1\"\n\
         [[guardrails]]\nid = \"no-secrets\"\nkind = \"deny\"\nrules = [{ id = \"key\", regex = \"sk-[a-z0-9]{8}\" }]\n\
         [audit]\npath = \"audit\"\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");
    // Checked, not opened: the audit directory is not created.
    assert!(!dir.join("audit").exists());

    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--check")
        .output()
        .expect("run gateway --check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the embedded defaults are valid"
    );
}

#[test]
fn every_problem_is_printed_with_its_key_path() {
    let dir = gateway::scratch("check-bad");
    let out = check(
        &dir,
        "[server]\nlisten_typo = \"127.0.0.1:1\"\n\
         [authorize]\n[[authorize.rules]]\nid = \"ok\"\neffect = \"allow\"\ncondition = \"true\"\n\
         [[authorize.rules]]\nid = \"broken\"\neffect = \"allow\"\ncondition = \"caller.(\"\n\
         [llm]\n[[llm.providers]]\nname = \"demo\"\nkind = \"demo\"\n\
         [[llm.deployments]]\nalias = \"a\"\nprovider = \"demo\"\nmodel = \"m\"\n\
         [[llm.deployments]]\nalias = \"a\"\nprovider = \"openai\"\nmodel = \"m\"\n\
         [[guardrails]]\nid = \"ok\"\nkind = \"deny\"\nrules = [{ id = \"fine\", keyword = \"fine\" }]\n\
         [[guardrails]]\nid = \"bad-regex\"\nkind = \"deny\"\nrules = [{ id = \"bad\", regex = \"(unclosed\" }]\n\
",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for key in [
        "server.listen_typo",
        "authorize.rules[1].condition",
        "llm.deployments[1].provider",
        "guardrails[1]",
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(&format!(": {key}"))),
            "{key} missing in:\n{stderr}"
        );
    }
    // The valid elements are not blamed.
    assert!(!stderr.contains("authorize.rules[0]"), "{stderr}");
    assert!(!stderr.contains("guardrails[0]"), "{stderr}");
    assert!(!stderr.contains("llm.deployments[0]"), "{stderr}");
}

#[test]
fn environment_key_files_commands_and_the_audit_path_are_checked() {
    let dir = gateway::scratch("check-env");
    let out = check(
        &dir,
        "[llm]\n[[llm.providers]]\nname = \"openai\"\nkind = \"openai\"\n\
         base_url = \"http://127.0.0.1:1/v1\"\napi_key_env = \"AGW_CHECK_TEST_KEY\"\n\
         [mcp]\n[[mcp.upstreams]]\nname = \"fs\"\ncommand = \"agw-no-such-command\"\n\
         [[auth.jwt]]\nissuer = \"i\"\naudience = \"a\"\njwks_file = \"missing.json\"\n\
         [runs]\nkey_id = \"k1\"\nkey_env = \"AGW_CHECK_TEST_KEY\"\n\
         [audit]\npath = \"gw.toml/audit\"\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for key in [
        "llm.providers[0].api_key_env",
        "mcp.upstreams[0].command",
        "auth.jwt[0].jwks_file",
        "audit.path",
        "runs.key",
    ] {
        assert!(
            stderr.contains(&format!(": {key}: ")),
            "{key} missing in:\n{stderr}"
        );
    }
}
