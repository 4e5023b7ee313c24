//! Real peer: the npm `@a2a-js/sdk` 1.3.0 client, through the gateway front (axum on
//! 127.0.0.1), to an a2a-sdk (PyPI) agent. Needs what `.ci/peers` installs; without it the test
//! skips with a notice, or with `AGW_REQUIRE_PEERS=1` fails, naming it.

mod peers;

use std::time::Duration;

use agent_gateway_a2a::version::Version;
use serde_json::Value;
use tokio::process::{Child, Command};

use peers::peers_dir;

async fn python_agent(mode: &str, name: &str) -> (Child, u16) {
    peers::sdk_agent(&[mode, name]).await
}

async fn js_client(url: &str, mode: &str) -> String {
    let js = peers_dir().join("a2a-js");
    assert!(
        js.join("node_modules/@a2a-js/sdk/package.json").exists(),
        "the @a2a-js/sdk client needs {} (run .ci/peers, or set AGW_PEERS_DIR)",
        js.display()
    );
    let out = Command::new("node")
        .arg(peers::script("client.mjs"))
        .args([url, mode])
        .env("A2A_JS_DIR", &js)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the client finishes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "js client {mode} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_js_client_sends_and_streams_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let Some(_) = peers::a2a_js() else { return };
    let Some(_) = peers::node() else { return };
    let (_complete, complete_port) = python_agent("complete", "c1").await;
    let (_stream, stream_port) = python_agent("stream", "s1").await;
    let registry = peers::registry(&[
        ("complete", &[("c1", complete_port, Version::V1_0)]),
        ("streamer", &[("s1", stream_port, Version::V1_0)]),
    ]);
    let (gateway, sealer) = peers::gateway(registry, 8, |c| c).await;
    let base = &gateway.base;

    let sent = js_client(&format!("{base}/complete"), "send").await;
    let lines: Vec<Value> = sent
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let task = lines
        .iter()
        .find(|l| l["kind"] == "task")
        .expect("the task fetched again")
        .to_string();
    assert!(task.contains("c1 echo: hello gateway"), "{task}");
    let id = task
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a task id");
    assert_eq!(
        sealer
            .open(
                "complete",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                id
            )
            .map(|(i, _)| i)
            .as_deref(),
        Some("c1"),
        "{task}"
    );

    let streamed = js_client(&format!("{base}/streamer"), "stream").await;
    // Only the streamed events count: the task fetched afterwards holds every chunk too.
    let events: Vec<Value> = streamed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|l| l["kind"] == "event")
        .map(|l| l["value"]["payload"].clone())
        .collect();
    assert!(events.len() >= 5, "{streamed}");
    let chunks: Vec<&str> = events
        .iter()
        .filter(|e| e["$case"] == "artifactUpdate")
        .filter_map(|e| e.pointer("/value/artifact/parts/0/content/value")?.as_str())
        .collect();
    assert_eq!(
        chunks,
        (0..3)
            .map(|i| format!("s1 chunk {i}: hello gateway"))
            .collect::<Vec<_>>(),
        "every chunk streamed, in order: {streamed}"
    );
    let last = events.last().expect("events");
    assert_eq!(last["$case"], "statusUpdate", "{streamed}");
    // 3 is TASK_STATE_COMPLETED in the SDK's enum.
    assert_eq!(last["value"]["status"]["state"], 3, "{streamed}");
    let owner = last["value"]["taskId"]
        .as_str()
        .and_then(|id| {
            sealer.open(
                "streamer",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                id,
            )
        })
        .map(|(i, _)| i);
    assert_eq!(owner.as_deref(), Some("s1"), "{streamed}");
}
