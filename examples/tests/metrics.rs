//! The gateway's Prometheus metrics end to end, in-process: traffic on every front (a model
//! call whole and streamed, an MCP tool call, an A2A message, and an MCP call denied by a named
//! CEL rule) moves the scraped counters and histograms by exactly what was sent, and the caller
//! and model labels stay within their configured cap.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;

use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_examples::config::Config;
use agent_gateway_examples::{app, policy::Policies};
use scrape::{moved, scrape};
use serde_json::json;

mod scrape;

/// The demo key's SHA-256 (the key is `agw-demo-key`).
const DEMO_KEY: &str = "e9ea7221f3e65906b26bb5b2c23ca15eca18b524bab79e00aedc38bcb1e4b293";

/// Demo upstreams on every front, the demo caller, and a deny rule by name.
fn config(extra: &str) -> Config {
    let toml = format!(
        r#"
[[auth.api_keys]]
key_sha256 = "{DEMO_KEY}"
subject = "demo"
tenant = "local"

[authorize]
[[authorize.rules]]
id = "authenticated-callers"
effect = "allow"
condition = "!caller.anonymous"
[[authorize.rules]]
id = "no-greetings"
effect = "deny"
condition = 'target == "demo__greeting"'

[llm]
[[llm.providers]]
name = "demo"
kind = "demo"
[[llm.deployments]]
alias = "demo"
provider = "demo"
model = "demo-1"
input_usd_per_million = 1.0
output_usd_per_million = 2.0

[mcp]
[[mcp.upstreams]]
name = "demo"
demo = true

[a2a]
[[a2a.agents]]
name = "demo"
description = "demo"
demo = true
{extra}
"#
    );
    Config::from_toml_str(&toml).unwrap()
}

async fn gateway(config: &Config) -> TestClient<axum::Router> {
    let policies = Policies::from_config(config).await.unwrap();
    TestClient::new(app::router(config, &policies).unwrap())
}

async fn model_call(client: &TestClient<axum::Router>, stream: bool) -> TestResponse {
    let body = json!({"model": "demo", "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]});
    client
        .post("/v1/chat/completions")
        .header("authorization", "Bearer agw-demo-key")
        .json(&body)
        .send()
        .await
}

async fn tool_call(client: &TestClient<axum::Router>, tool: &str) -> TestResponse {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": {"text": "hi"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }
    }});
    client
        .post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("authorization", "Bearer agw-demo-key")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&body)
        .send()
        .await
}

async fn agent_message(client: &TestClient<axum::Router>) -> TestResponse {
    let body = json!({"jsonrpc": "2.0", "id": "1", "method": "SendMessage",
        "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}});
    client
        .post("/a2a/demo")
        .header("authorization", "Bearer agw-demo-key")
        .header("a2a-version", "1.0")
        .json(&body)
        .send()
        .await
}

fn calls(protocol: &str, action: &str, outcome: &str) -> String {
    format!(r#"agw_requests_total{{protocol="{protocol}",action="{action}",outcome="{outcome}"}}"#)
}

fn latency(part: &str, protocol: &str, action: &str, outcome: &str) -> String {
    let labels = format!(r#"protocol="{protocol}",action="{action}",outcome="{outcome}""#);
    match part {
        "bucket" => format!(r#"agw_request_duration_seconds_bucket{{{labels},le="+Inf"}}"#),
        part => format!("agw_request_duration_seconds_{part}{{{labels}}}"),
    }
}

#[tokio::test]
async fn traffic_on_every_front_moves_the_counters_histograms_and_denials() {
    let config = config("");
    let client = gateway(&config).await;
    let before = scrape(&client).await;

    let res = model_call(&client, false).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let res = model_call(&client, true).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.text().contains("[DONE]"), "{}", res.text());
    let res = tool_call(&client, "demo__echo").await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.json().get("result").is_some(), "{}", res.text());
    let res = agent_message(&client).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.json().get("error").is_none(), "{}", res.text());
    // Denied by the CEL rule `no-greetings`, before any upstream call.
    let res = tool_call(&client, "demo__greeting").await;
    assert_eq!(res.json()["error"]["code"], -32003, "{}", res.text());

    let after = scrape(&client).await;
    let text = format!("{after:#?}");
    let expect = |series: String, by: f64| {
        assert_eq!(moved(&before, &after, &series), by, "{series} in {text}");
    };
    // Calls and their latency, by protocol, action and outcome.
    for (protocol, action, outcome, n) in [
        ("llm", "model_call", "ok", 2.0),
        ("mcp", "tool_call", "ok", 1.0),
        ("a2a", "agent_message", "ok", 1.0),
        ("mcp", "tool_call", "denied", 1.0),
    ] {
        expect(calls(protocol, action, outcome), n);
        expect(latency("count", protocol, action, outcome), n);
        expect(latency("bucket", protocol, action, outcome), n);
        let sum = latency("sum", protocol, action, outcome);
        assert!(moved(&before, &after, &sum) > 0.0, "{sum} in {text}");
    }
    // Tokens by caller and model: the demo provider reports 8 in and 9 out per answer,
    // streamed or not; and their cost at $1 / $2 per million.
    let caller = "api_key::local:demo";
    let tokens =
        |kind: &str| format!(r#"agw_tokens_total{{caller="{caller}",model="demo",type="{kind}"}}"#);
    expect(tokens("input"), 16.0);
    expect(tokens("output"), 18.0);
    let cost = format!(r#"agw_cost_usd_total{{caller="{caller}",model="demo"}}"#);
    let spent = moved(&before, &after, &cost);
    assert!(
        (spent - 52e-6).abs() < 1e-9,
        "{cost} moved by {spent} in {text}"
    );
    // The denial, by kind and the rule that decided.
    let denial = r#"agw_denials_total{protocol="mcp",kind="forbidden",rule="no-greetings"}"#;
    expect(denial.to_owned(), 1.0);
    // Scrape-time gauges: the counter store behind the quota holds keys.
    assert!(
        after.contains_key(r#"agw_table_entries{table="counters"}"#),
        "{text}"
    );
}

/// A second caller (key `agw-other-key`) and a second model alias.
const SECOND: &str = r#"
[[auth.api_keys]]
key_sha256 = "2d2e1fb0e50cddf3d4a2557a03c4f95a36aa8870a4d226afe46459fc2963120c"
subject = "other"
[[llm.deployments]]
alias = "demo2"
provider = "demo"
model = "demo-2"
[telemetry]
metrics_label_limit = 1
"#;

async fn chat(client: &TestClient<axum::Router>, key: &str, model: &str) {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let res = client
        .post("/v1/chat/completions")
        .header("authorization", &format!("Bearer {key}"))
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
}

#[tokio::test]
async fn caller_and_model_labels_stay_within_the_configured_cap() {
    let client = gateway(&config(SECOND)).await;
    // With a cap of one value each, the first caller and model keep their names; any other
    // is counted as `other`.
    chat(&client, "agw-demo-key", "demo").await;
    chat(&client, "agw-other-key", "demo2").await;
    chat(&client, "agw-demo-key", "demo2").await;
    chat(&client, "agw-other-key", "demo").await;
    let after = scrape(&client).await;
    let text = format!("{after:#?}");
    let input: BTreeMap<&str, f64> = after
        .iter()
        .filter(|(k, _)| k.starts_with("agw_tokens_total{") && k.contains(r#"type="input""#))
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let series = |caller: &str, model: &str| {
        format!(r#"agw_tokens_total{{caller="{caller}",model="{model}",type="input"}}"#)
    };
    let demo = "api_key::local:demo";
    let expected = BTreeMap::from([
        (series(demo, "demo"), 8.0),
        (series(demo, "other"), 8.0),
        (series("other", "demo"), 8.0),
        (series("other", "other"), 8.0),
    ]);
    let expected: BTreeMap<&str, f64> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(input, expected, "{text}");
    assert!(
        !text.contains("demo2") && !text.contains(":other"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_off_serve_no_route() {
    let config = config("[telemetry]\nmetrics = false\n");
    let client = gateway(&config).await;
    assert_eq!(client.get("/metrics").send().await.status(), 404);
}

/// Opens a legacy MCP session as the demo caller and ends it with DELETE: the ended id is
/// remembered in the front's `revoked` table until it expires.
async fn open_and_end_legacy_session(client: &TestClient<axum::Router>) {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = client
        .post("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("authorization", "Bearer agw-demo-key")
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let session = res.header("mcp-session-id").unwrap().to_owned();
    let res = client
        .delete("/mcp")
        .header("host", "127.0.0.1:8080")
        .header("authorization", "Bearer agw-demo-key")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
}

#[tokio::test]
async fn the_mcp_session_tables_export_their_fill_and_configured_bounds() {
    let config = config(
        "[mcp.limits]\nended_sessions = 7\nended_sessions_per_caller = 3\n\
         pending = 11\npending_per_caller = 5\nresumable_streams = 13\n\
         resumable_streams_per_caller = 6\nsubscription_sessions = 17\n\
         subscription_sessions_per_caller = 8\nlog_levels = 19\nlog_levels_per_caller = 9\n",
    );
    let client = gateway(&config).await;
    let entries = |table: &str| format!(r#"agw_table_entries{{table="mcp.{table}"}}"#);
    let capacity = |table: &str| format!(r#"agw_table_capacity{{table="mcp.{table}"}}"#);

    let before = scrape(&client).await;
    let text = format!("{before:#?}");
    for table in [
        "pending",
        "log_levels",
        "revoked",
        "cancels",
        "resumable",
        "subscriptions",
    ] {
        assert_eq!(before.get(&entries(table)), Some(&0.0), "{table} in {text}");
    }
    // Each bound as configured; requests in flight have none of their own.
    for (table, bound) in [
        ("pending", 11.0),
        ("log_levels", 19.0),
        ("revoked", 7.0),
        ("resumable", 13.0),
        ("subscriptions", 17.0),
    ] {
        assert_eq!(
            before.get(&capacity(table)),
            Some(&bound),
            "{table} in {text}"
        );
    }
    assert!(!before.contains_key(&capacity("cancels")), "{text}");

    open_and_end_legacy_session(&client).await;
    let after = scrape(&client).await;
    let text = format!("{after:#?}");
    assert_eq!(after.get(&entries("revoked")), Some(&1.0), "{text}");
    assert_eq!(after.get(&capacity("revoked")), Some(&7.0), "{text}");
    // The call has ended: nothing is left in flight.
    assert_eq!(after.get(&entries("cancels")), Some(&0.0), "{text}");
}
