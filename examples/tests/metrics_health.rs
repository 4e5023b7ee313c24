//! The scrape-time gauges of the runnable gateway, in-process: every bounded table's fill and
//! bound (the edge's per-caller stream counts and unauthenticated-client counts, the MCP
//! per-client sessions of a stdio upstream, the A2A card cache), and the health of LLM
//! deployments (a failing deployment's breaker opening shows as down and open).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod peers;
mod scrape;

use std::path::{Path, PathBuf};

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::app::App;
use agent_gateway_examples::config::Config;
use agent_gateway_examples::policy::Policies;
use scrape::{Scrape, scrape};
use serde_json::json;

/// The demo key's SHA-256 (the key is `agw-demo-key`).
const DEMO_KEY: &str = "e9ea7221f3e65906b26bb5b2c23ca15eca18b524bab79e00aedc38bcb1e4b293";

async fn gateway(extra: &str) -> (App, TestClient<axum::Router>) {
    let toml =
        format!("[[auth.api_keys]]\nkey_sha256 = \"{DEMO_KEY}\"\nsubject = \"demo\"\n{extra}");
    let config = Config::from_toml_str(&toml).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let app = App::new(&config, &policies).unwrap();
    let client = TestClient::new(app.router());
    (app, client)
}

fn entries(table: &str) -> String {
    format!(r#"agw_table_entries{{table="{table}"}}"#)
}

fn capacity(table: &str) -> String {
    format!(r#"agw_table_capacity{{table="{table}"}}"#)
}

#[track_caller]
fn expect(scrape: &Scrape, series: &str, value: f64) {
    assert_eq!(scrape.get(series), Some(&value), "{series} in {scrape:#?}");
}

#[tokio::test]
async fn the_edge_tables_move_with_open_responses_and_unauthenticated_clients() {
    let (_app, client) = gateway(
        "[server]\nstreams_per_caller = 5\nunauthenticated_per_minute = 10\n\
         [a2a]\n[[a2a.agents]]\nname = \"demo\"\ndescription = \"demo\"\ndemo = true\n",
    )
    .await;
    let before = scrape(&client).await;
    for table in [
        "edge.streams",
        "edge.stream_callers",
        "edge.streams_busiest_caller",
    ] {
        expect(&before, &entries(table), 0.0);
    }
    expect(&before, &capacity("edge.streams_busiest_caller"), 5.0);
    expect(&before, &entries("edge.unauthenticated"), 0.0);
    // The card cache: one card per agent at most.
    expect(&before, &entries("a2a.cards"), 0.0);
    expect(&before, &capacity("a2a.cards"), 1.0);

    // Two responses the demo caller holds open (their bodies not read yet).
    let open = || {
        client
            .get("/v1/whoami")
            .header("authorization", "Bearer agw-demo-key")
            .send_raw()
    };
    let (first, second) = (open().await.unwrap(), open().await.unwrap());
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // A client without a credential, counted by address.
    let refused = client.get("/v1/whoami").send().await;
    assert_eq!(refused.status(), 401);
    let during = scrape(&client).await;
    expect(&during, &entries("edge.streams"), 2.0);
    expect(&during, &entries("edge.stream_callers"), 1.0);
    expect(&during, &entries("edge.streams_busiest_caller"), 2.0);
    expect(&during, &entries("edge.unauthenticated"), 1.0);

    drop((first, second));
    let after = scrape(&client).await;
    for table in [
        "edge.streams",
        "edge.stream_callers",
        "edge.streams_busiest_caller",
    ] {
        expect(&after, &entries(table), 0.0);
    }
}

/// An LLM alias whose one deployment's provider cannot be reached (nothing listens on port
/// 1): each call fails, and the fifth failure in a row opens its breaker (the default).
const FAILING_LLM: &str = r#"
[llm]
[[llm.providers]]
name = "down"
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
[[llm.deployments]]
alias = "m"
provider = "down"
model = "m-1"
"#;

#[tokio::test]
async fn a_failing_llm_deployment_shows_its_breaker_opening() {
    let (_app, client) = gateway(FAILING_LLM).await;
    let labels = r#"{protocol="llm",upstream="down",instance="m-1"}"#;
    let (up, breaker, in_flight) = (
        format!("agw_upstream_up{labels}"),
        format!("agw_upstream_breaker_state{labels}"),
        format!("agw_upstream_in_flight{labels}"),
    );
    let before = scrape(&client).await;
    expect(&before, &up, 1.0);
    expect(&before, &breaker, 0.0);
    expect(&before, &in_flight, 0.0);

    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..5 {
        let res = client
            .post("/v1/chat/completions")
            .header("authorization", "Bearer agw-demo-key")
            .json(&body)
            .send()
            .await;
        assert!(res.status().is_server_error(), "{}", res.text());
    }
    let after = scrape(&client).await;
    expect(&after, &up, 0.0);
    expect(&after, &breaker, 2.0);
    expect(&after, &in_flight, 0.0);
}

fn toml_str(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).unwrap()
}

#[tokio::test]
async fn a_stdio_upstream_exports_its_per_client_sessions() {
    let Some(python) = peers::python() else {
        return;
    };
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/mcp/stdio_server.py");
    let (app, client) = gateway(&format!(
        "[mcp]\n[[mcp.upstreams]]\nname = \"py\"\ncommand = {}\nargs = [{}]\n\
         env = {{ PYTHONWARNINGS = \"ignore\" }}\nmax_client_sessions = 8\n",
        toml_str(&python),
        toml_str(&script),
    ))
    .await;
    let table = "mcp.client_sessions.py";
    let before = scrape(&client).await;
    expect(&before, &entries(table), 0.0);
    expect(&before, &capacity(table), 8.0);

    // The demo caller's call starts a child of its own.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "py__add", "arguments": {"a": 20, "b": 22},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }
    }});
    let res = client
        .post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("authorization", "Bearer agw-demo-key")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "py__add")
        .json(&call)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json()["result"]["content"][0]["text"],
        "42",
        "{}",
        res.text()
    );
    let after = scrape(&client).await;
    expect(&after, &entries(table), 1.0);
    expect(&after, &capacity(table), 8.0);
    app.shutdown().await;
}
