//! Task ownership with the real a2a-sdk 1.3.0 client (#11 finding 1): alice starts a task
//! through one listener, bob (another caller on another listener of the same gateway: same
//! router, same sealing key) tries to get, cancel, subscribe to, continue and attach a webhook
//! to it, on both bindings and both versions. Every attempt is refused as an unknown task, and
//! alice's task is untouched. Needs the venv of `.ci/peers` (see `peers`).

mod peers;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_gateway_a2a::registry::{Agent, AgentRegistry, http_connector};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest};
use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::{AgentRequest, Caller, Secret};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tower::ServiceExt;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/peers/a2a")
        .join(name)
}

async fn run(python: &PathBuf, args: &[&str]) -> Vec<Value> {
    let out = Command::new(python).args(args).kill_on_drop(true).output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the client finishes")
        .expect("it runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Serves `router` on a fresh port with every request made by `caller` (a stand-in for the
/// auth layer), and returns the base URL.
async fn serve(router: A2aRouter, caller: Caller, hooks: WebhookAllowList) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let authed = tower::service_fn(move |mut req: A2aRequest| {
        req.set_caller(caller.clone());
        router.clone().oneshot(req)
    });
    let config = A2aFrontConfig::new(&base)
        .expect("a URL")
        .with_webhooks(hooks);
    let front = A2aFront::new(authed, config);
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback_service(front)).await
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_client_cannot_use_another_callers_task() {
    let Some(python) = peers::python() else {
        return;
    };
    let mut agent = Command::new(&python)
        .arg(script("agent.py"))
        .args(["input", "q1"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let stdout = agent.stdout.take().expect("piped stdout");
    let line = tokio::time::timeout(
        Duration::from_secs(60),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("the agent reports its port within a minute")
    .expect("readable stdout")
    .expect("a line");
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .expect("PORT <n>");
    let registry = AgentRegistry::builder()
        .agent(
            Agent::new("asker")
                .expect("a name")
                .instance(
                    "q1",
                    &format!("http://127.0.0.1:{port}/"),
                    Version::V1_0,
                    http_connector(),
                )
                .expect("an instance"),
        )
        .build()
        .expect("a registry");
    let hooks = || {
        WebhookAllowList::new()
            .allow("http://127.0.0.1:9/")
            .expect("a prefix")
    };
    let router = A2aRouter::new(
        registry,
        Sealer::new(Secret::new(vec![4; 32])).expect("a key"),
    )
    .with_webhooks(hooks());
    let alice = Caller::new("alice")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("acme");
    let bob = Caller::new("bob")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("globex");
    let alice_url = serve(router.clone(), alice, hooks()).await;
    let bob_url = serve(router, bob, hooks()).await;

    for (wire, version) in [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    ] {
        let label = format!("{wire} {version}");
        // Alice's task waits for input: cancelable, and continuable, by its owner.
        let client = script("client.py");
        let lines = run(
            &python,
            &[
                client.to_str().expect("a path"),
                &format!("{alice_url}/asker"),
                "send",
                wire,
                version,
            ],
        )
        .await;
        let task = &lines.last().expect("the fetched task")["task"];
        let id = task["id"].as_str().expect("a task id").to_owned();
        let state = task["status"]["state"].clone();
        assert_eq!(state, "TASK_STATE_INPUT_REQUIRED", "{label}: {task}");

        let thief = script("thief.py");
        let attempts = run(
            &python,
            &[
                thief.to_str().expect("a path"),
                &format!("{bob_url}/asker"),
                wire,
                version,
                &id,
            ],
        )
        .await;
        assert_eq!(attempts.len(), 5, "{label}: {attempts:?}");
        for a in &attempts {
            assert_eq!(a["refused"], true, "{label}: {a}");
            if (wire, version) == ("HTTP+JSON", "0.3") {
                // The SDK's 0.3 HTTP+JSON transport reports every 404 as MethodNotFoundError;
                // the gateway's 404 carries TASK_NOT_FOUND (the same route works for alice).
                assert_eq!(a["status"], 404, "{label}: {a}");
            } else {
                assert_eq!(a["error"], "TaskNotFoundError", "{label}: {a}");
                assert_eq!(a["code"], -32001, "{label}: {a}");
            }
        }
        // Alice's task is untouched: still waiting for input, not canceled.
        let control = run(
            &python,
            &[
                thief.to_str().expect("a path"),
                &format!("{alice_url}/asker"),
                wire,
                version,
                &id,
                "get",
            ],
        )
        .await;
        assert_eq!(control[0]["refused"], false, "{label}: {control:?}");
        assert_eq!(
            control[0]["state"], "TASK_STATE_INPUT_REQUIRED",
            "{label}: {control:?}"
        );
    }
}
