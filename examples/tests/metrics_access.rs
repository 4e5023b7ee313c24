//! `/metrics` behind a bearer token (`[telemetry] metrics_token_env`), on the real binary: a
//! scrape without the token or with another gets 401, with it 200; `--check` and start-up
//! refuse a file whose token variable is not set, naming the key.

#![allow(clippy::unwrap_used)] // a failed step fails the test

use std::process::Command;

mod gateway;

const VAR: &str = "AGW_METRICS_ACCESS_TEST_TOKEN";

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("gw.toml");
    let toml = format!("[telemetry]\nmetrics_token_env = \"{VAR}\"\n");
    std::fs::write(&file, toml).expect("write config");
    file
}

#[test]
fn a_scrape_needs_the_configured_token() {
    let dir = gateway::scratch("metrics-token");
    let file = config(&dir);
    let file = file.to_str().unwrap();
    let token = "scrape-7f3a9c";
    let gw = gateway::start_in_env(&dir, &["--config", file], &[(VAR, token)]);

    let (status, head, body) = gateway::http_get_with(gw.addr, "/metrics", "");
    assert_eq!(status, 401, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert!(!body.contains(token), "{body}");
    let wrong = "Authorization: Bearer scrape-7f3a9d\r\n";
    assert_eq!(gateway::http_get_with(gw.addr, "/metrics", wrong).0, 401);
    let basic = format!("Authorization: Basic {token}\r\n");
    assert_eq!(gateway::http_get_with(gw.addr, "/metrics", &basic).0, 401);

    let right = format!("Authorization: Bearer {token}\r\n");
    let (status, _, body) = gateway::http_get_with(gw.addr, "/metrics", &right);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("agw_table_entries{table=\"edge.streams\"} 0"),
        "{body}"
    );
}

#[test]
fn an_unset_token_variable_is_refused_by_check_and_at_start() {
    let dir = gateway::scratch("metrics-token-unset");
    let file = config(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--check")
        .arg("--config")
        .arg(&file)
        .env_remove(VAR)
        .output()
        .expect("run gateway --check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let line = format!("telemetry.metrics_token_env: environment variable `{VAR}` is not set");
    assert!(
        stdout.contains(&line) || stderr.contains(&line),
        "{stdout}{stderr}"
    );

    // Start-up without it fails too, rather than serving the metrics open.
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .current_dir(&dir)
        .env_remove(VAR)
        .output()
        .expect("run gateway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("telemetry.metrics_token_env"), "{stderr}");
}
