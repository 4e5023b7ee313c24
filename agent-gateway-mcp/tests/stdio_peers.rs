//! The stdio connector against a real stdio server on the official python `mcp` SDK
//! (tests/peers/mcp/stdio_server.py, pinned in `.ci/peers`): handshake, concurrent calls,
//! progress mapped back to the client's token, a crash and its restart, shutdown.
//!
//! Without the venv these tests skip with a notice (with `AGW_REQUIRE_PEERS=1`, FAIL saying
//! how to install it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioError, StdioUpstream};
use agent_gateway_mcp::notify::{Notifier, Outgoing};
use agent_gateway_mcp::upstream::UpstreamRequest;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use common::{python, workspace};

fn config() -> StdioConfig {
    StdioConfig::new(python())
        .with_args([workspace().join("tests/peers/mcp/stdio_server.py")])
        .with_env("PYTHONWARNINGS", "ignore")
        .with_backoff(Duration::from_millis(200), Duration::from_secs(2))
        .with_request_timeout(Duration::from_secs(30))
}

/// The stdio server's ready signal, awaited for at most 60 s (an external process), or the
/// test fails.
async fn until_ready(upstream: &StdioUpstream) {
    tokio::time::timeout(Duration::from_secs(60), upstream.ready())
        .await
        .expect("the python stdio server did not finish its handshake within 60 s");
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

async fn call(
    upstream: &StdioUpstream,
    tool: &str,
    arguments: Value,
) -> Result<String, agent_gateway_core::BoxError> {
    let req = UpstreamRequest::new(
        "tools/call",
        args(json!({"name": tool, "arguments": arguments})),
    );
    let result = upstream.clone().oneshot(req).await?;
    Ok(result["content"][0]["text"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn lists_and_calls_concurrently_with_progress_mapped_back() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let upstream = StdioUpstream::spawn("py-stdio", config());
    until_ready(&upstream).await;
    let list = upstream
        .clone()
        .oneshot(UpstreamRequest::new("tools/list", Map::new()))
        .await
        .unwrap();
    let mut names: Vec<_> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["add", "crash", "pid", "slow-count"]);

    // Ten calls in flight at once, each answered with its own result.
    let calls = (0..10).map(|i| call(&upstream, "add", json!({"a": i, "b": 100})));
    let answers = futures_util::future::join_all(calls).await;
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    let expected: Vec<_> = (0..10).map(|i| (i + 100).to_string()).collect();
    assert_eq!(answers, expected);

    // Progress comes back under the client's token, not the connector's.
    let (notifier, mut notes) = Notifier::channel(Some(json!("client-tok")));
    let params = args(
        json!({"name": "slow-count", "arguments": {"n": 2}, "_meta": {"progressToken": "client-tok"}}),
    );
    let req = UpstreamRequest::new("tools/call", params).with_notifier(Some(notifier));
    let result = upstream.clone().oneshot(req).await.unwrap();
    assert_eq!(result["content"][0]["text"], "counted:2");
    let mut progress = Vec::new();
    while let Ok(Outgoing::Notification((method, params))) = notes.try_recv() {
        assert_eq!(method, "notifications/progress");
        assert_eq!(params["progressToken"], "client-tok");
        progress.push(params["progress"].as_f64().unwrap());
    }
    assert_eq!(progress, [1.0, 2.0]);

    // An unknown tool is the server's own tool error, passed on as it is.
    let req = UpstreamRequest::new(
        "tools/call",
        args(json!({"name": "no-such-tool", "arguments": {}})),
    );
    let unknown = upstream.clone().oneshot(req).await.unwrap();
    assert_eq!(unknown["isError"], true);
    assert_eq!(unknown["content"][0]["text"], "Unknown tool: no-such-tool");
    upstream.shutdown().await;
    let after = call(&upstream, "add", json!({"a": 1, "b": 1}))
        .await
        .unwrap_err();
    assert_eq!(
        after.downcast_ref::<StdioError>(),
        Some(&StdioError::NotRunning)
    );
}

#[tokio::test]
async fn a_crash_fails_fast_and_the_child_is_restarted() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let upstream = StdioUpstream::spawn("py-crashy", config());
    until_ready(&upstream).await;
    let first_pid = call(&upstream, "pid", json!({})).await.unwrap();
    assert_eq!(upstream.starts(), 1);

    let crashed = call(&upstream, "crash", json!({})).await.unwrap_err();
    assert_eq!(
        crashed.downcast_ref::<StdioError>(),
        Some(&StdioError::Exited)
    );
    // During the restart a call fails at once rather than waiting.
    let during = call(&upstream, "add", json!({"a": 1, "b": 2}))
        .await
        .unwrap_err();
    assert_eq!(
        during.downcast_ref::<StdioError>(),
        Some(&StdioError::NotRunning)
    );

    until_ready(&upstream).await;
    let second_pid = call(&upstream, "pid", json!({})).await.unwrap();
    assert_ne!(first_pid, second_pid);
    assert_eq!(upstream.starts(), 2);
    assert_eq!(
        call(&upstream, "add", json!({"a": 1, "b": 2}))
            .await
            .unwrap(),
        "3"
    );

    upstream.shutdown().await;
    // Closed stdin: the python server leaves by itself, within the shutdown timeout.
    let proc = PathBuf::from(format!("/proc/{second_pid}"));
    for _ in 0..100 {
        if !proc.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stdio child {second_pid} is still running after shutdown");
}

#[tokio::test]
async fn only_the_given_environment_and_directory_reach_the_child() {
    let Some(_) = common::python_peer() else {
        return;
    };
    // A server whose every call answers with the environment and directory it runs with.
    const PROBE: &str = r#"
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    if m["method"] == "initialize":
        r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {},
             "serverInfo": {"name": "probe", "version": "1"}}
    else:
        text = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()})
        r = {"content": [{"type": "text", "text": text}]}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#;
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let config = StdioConfig::new(python())
        .with_args(["-c", PROBE])
        // The default: nothing of the gateway's environment reaches the child.
        .with_env("ONLY_THIS", "x")
        .with_current_dir(&dir);
    let upstream = StdioUpstream::spawn("py-probe", config);
    until_ready(&upstream).await;
    let report: Value =
        serde_json::from_str(&call(&upstream, "report", json!({})).await.unwrap()).unwrap();
    let mut names: Vec<_> = report["env"].as_object().unwrap().keys().collect();
    // LC_CTYPE: python's own locale coercion (PEP 538) may set it.
    names.retain(|n| *n != "LC_CTYPE");
    assert_eq!(names, ["ONLY_THIS"], "{report}");
    assert_eq!(report["env"]["ONLY_THIS"], "x");
    assert_eq!(report["cwd"], dir.display().to_string());
    upstream.shutdown().await;
}
