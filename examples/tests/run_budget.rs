//! A run that crosses agents through the runnable gateway, with real a2a-sdk agents (#14): the
//! client asks agent X, X asks agent Y through the gateway, and Y calls an MCP tool and a model
//! through the gateway, each agent copying the run budget header it was handed. Y is refused
//! once the run's remaining budget is spent, although its own limit would allow more; a
//! dropped or tampered header is refused. Needs the venv of `.ci/peers` (see `peers`).

#![allow(clippy::unwrap_used, reason = "test code")]

mod peers;

use std::path::Path;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use serde_json::{Value, json};
use tokio::process::Child;

/// The tool calls the run allows in all; Y's own limit is far higher.
const RUN_TOOL_CALLS: usize = 3;
/// The tool calls Y tries.
const Y_TRIES: usize = 5;

/// Two API keys, `agw-x-key` (subject `x-agent`) and `agw-y-key` (`y-agent`), by SHA-256.
const AGENT_KEYS: &str = "[[auth.api_keys]]\nkey_sha256 = \
    \"0172080fa476c294a4168dbaa67cb41c08306993488b18ea1d0468ad870e6264\"\nsubject = \"x-agent\"\n\n\
    [[auth.api_keys]]\nkey_sha256 = \
    \"bb9bfbfca7e8e30f43b307a51f4700a7a63ebaf3709f8be87b055d31c9fd9712\"\nsubject = \"y-agent\"\n\n";

/// Starts `run_agent.py` with `args`; the process and its port.
async fn agent(python: &Path, args: &[&str]) -> (Child, u16) {
    peers::a2a_agent(python, "run_agent.py", args).await
}

/// The embedded defaults, plus the agents' keys, agents X and Y, and the `[runs]` section.
fn config(x: u16, y: u16) -> Config {
    let mut text = EMBEDDED_DEFAULT.replacen(
        "[[auth.api_keys]]\n",
        &format!("{AGENT_KEYS}[[auth.api_keys]]\n"),
        1,
    );
    assert_ne!(text, EMBEDDED_DEFAULT, "the default API key section moved");
    for (name, port) in [("x", x), ("y", y)] {
        text.push_str(&format!(
            "\n[[a2a.agents]]\nname = \"{name}\"\n[[a2a.agents.instances]]\nid = \"{name}-1\"\n\
             url = \"http://127.0.0.1:{port}/\"\nversion = \"1.0\"\n"
        ));
    }
    text.push_str(&format!(
        "\n[runs]\nsteps = 50\ntool_calls = {RUN_TOOL_CALLS}\ndepth = 3\n\
         agents = [\"x-agent\", \"y-agent\"]\n[runs.callers.y-agent]\ntool_calls = 100\n"
    ));
    Config::from_toml_str(&text).unwrap()
}

/// Sends `text` to agent `to` through the gateway as `key`, with `headers`; the JSON answer,
/// which must come with HTTP `status`.
async fn send(
    client: &TestClient<axum::Router>,
    (to, key, text): (&str, &str, &str),
    headers: &[(&str, &str)],
    status: u16,
) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": "1", "method": "SendMessage", "params": {
        "message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": text}]}}});
    let mut req = client
        .post(&format!("/a2a/{to}"))
        .header("authorization", &format!("Bearer {key}"))
        .header("a2a-version", "1.0");
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let res = req.json(&body).send().await;
    assert_eq!(res.status(), status, "{}", res.text());
    res.json()
}

/// The text of the answer's first artifact.
fn artifact(answer: &Value) -> &str {
    answer["result"]["task"]["artifacts"][0]["parts"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("an artifact: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_agent_is_refused_once_the_runs_remainder_is_spent() {
    let Some(python) = peers::python() else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let gateway = format!("http://{bound}");
    let tries = Y_TRIES.to_string();
    let (_x, x) = agent(&python, &["delegate", "x", &gateway, "agw-x-key", "y"]).await;
    let (_y, y) = agent(&python, &["worker", "y", &gateway, "agw-y-key", &tries]).await;
    let mut config = config(x, y);
    config.server.listen = bound;
    let policies = Policies::from_config(&config).await.unwrap();
    let router = app::router(&config, &policies).unwrap();
    let client = TestClient::new(router.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The client asks X; X asks Y; Y calls the tool five times and the model once.
    let answer = send(&client, ("x", "agw-demo-key", "work"), &[], 200).await;
    let outcomes: Value = serde_json::from_str(artifact(&answer)).unwrap();
    let outcomes = outcomes.as_array().unwrap();
    assert_eq!(outcomes.len(), Y_TRIES + 1, "{outcomes:?}");
    // The run's three tool calls are served; the rest are refused naming the limit, although
    // Y's own limit (100) would allow them.
    for (i, outcome) in outcomes[..Y_TRIES].iter().enumerate() {
        if i < RUN_TOOL_CALLS {
            assert_eq!(outcome, "ok", "call {i}: {outcomes:?}");
        } else {
            assert!(outcome["code"].is_i64(), "call {i}: {outcome}");
            let message = outcome["message"].as_str().unwrap();
            assert!(message.contains("tool_calls"), "call {i}: {message}");
        }
    }
    // The model call is still within the run's limits.
    assert_eq!(outcomes[Y_TRIES], "ok", "{outcomes:?}");

    // X drops the header on its way to Y: refused, an agent has no budget of its own.
    let answer = send(&client, ("x", "agw-demo-key", "drop-header"), &[], 200).await;
    let refused: Value = serde_json::from_str(artifact(&answer)).unwrap();
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("run budget header required"), "{refused}");

    // A forged header, sent as agent X: refused before any agent is called, with A2A's
    // PERMISSION_DENIED (HTTP 403) and the rule that refused it.
    let forged = "v1.local.eyJydW4iOiJyIn0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let answer = send(
        &client,
        ("y", "agw-x-key", "work"),
        &[("agw-run-budget", forged)],
        403,
    )
    .await;
    assert_eq!(answer["error"]["data"][0]["metadata"]["rule"], "run.header");
    assert!(answer["error"]["code"].is_i64(), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("run budget header"), "{message}");
}
