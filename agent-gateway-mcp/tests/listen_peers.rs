//! Real peers for notification streams: python SDK clients listening through the gateway, a
//! modern one with `subscriptions/listen` and a legacy one on its session's GET stream with
//! `resources/subscribe`, to a python SDK server that changes, and to a fake in-process
//! upstream beside it; and a stdio server's list change reaching a client through the gateway.
//!
//! The python lives in the venv under `$AGW_PEERS_DIR` (default `<workspace>/.ci/cache`);
//! without it these tests skip with a notice (with `AGW_REQUIRE_PEERS=1`, FAIL saying how to
//! install it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioUpstream};
use agent_gateway_mcp::listen::ListenFilter;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use common::{python, python_server, script, serve, strings};
use serde_json::{Value, json};
use tokio::process::Command;

async fn listen_client(url: &str, mode: &str, tool: &str, uri: &str) -> Value {
    let out = Command::new(python())
        .arg(script("listen_client.py"))
        .args([url, mode, tool, uri])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out)
        .await
        .expect("the python listen client finished within 90 s")
        .expect("run the python listen client");
    assert!(
        out.status.success(),
        "python listen client failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client printed one JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_a_python_server_reaches_a_python_client_listening_through_the_gateway() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (url, _server) = python_server("listen_server.py").await;
    let fixture = HttpUpstream::connect(url.parse().unwrap());
    let local = FakeMcpServer::new().with_echo_tool("ping-back");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fixture").unwrap(), fixture))
        .member(Member::new(
            ServerName::new("local-fake").unwrap(),
            local.clone(),
        ))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        McpFrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;

    let report = listen_client(
        &gateway,
        "2026-07-28",
        "fixture__touch",
        "fixture+fixture://status",
    )
    .await;
    // The gateway acknowledged what the client asked, in the client's names.
    assert_eq!(
        report["honored"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["fixture+fixture://status"]}),
        "{report}"
    );
    // The SDK routes a listen's events by the subscription id the gateway tagged them with;
    // both kinds reached it, the URI back in the client's form.
    assert_eq!(
        strings(&report["events"]),
        ["resource:fixture+fixture://status", "tools"],
        "{report}"
    );
    assert!(report["calls"].as_u64().unwrap() >= 1);

    // The client has gone: the gateway dropped its listen on the in-process upstream too.
    // (Bounded polling: the python client's exit reaches the gateway over a real socket.)
    for _ in 0..100 {
        if local.listeners() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(local.listeners(), 0);
    assert_eq!(local.calls_of("subscriptions/listen"), 1);

    // A legacy client: the SDK opens its session's GET stream and subscribes; the same
    // change on the modern upstream reaches it there.
    let report = listen_client(
        &gateway,
        "legacy",
        "fixture__touch",
        "fixture+fixture://status",
    )
    .await;
    assert_eq!(report["protocolVersion"], "2025-11-25", "{report}");
    assert_eq!(
        report["refused"], -32602,
        "a URI no upstream owns: {report}"
    );
    assert_eq!(
        strings(&report["events"]),
        ["resource:fixture+fixture://status", "tools"],
        "{report}"
    );
}

/// Calls `tool` until a tools/list_changed arrives on `notes` (the gateway may still be
/// opening its listen upstream when the first change happens, or the upstream may be
/// restarting); how many calls it took. Bounded: real processes, real time.
async fn touch_until_changed(
    client: &McpClient<McpFront<Federation>>,
    tool: &str,
    notes: &mut agent_gateway_mcp::testkit::Listening,
) -> usize {
    for calls in 1..=60 {
        if client.call_tool(tool, json!({})).await.is_err() {
            // Restarting: the call fails at once; try again shortly.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if let Ok(Some((method, _))) =
            tokio::time::timeout(Duration::from_millis(500), notes.next()).await
        {
            assert_eq!(method, "notifications/tools/list_changed");
            return calls;
        }
    }
    panic!("no tools/list_changed through the gateway after 60 calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_servers_list_change_reaches_a_client_through_the_gateway_across_a_restart() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let stdio = StdioUpstream::spawn(
        "stdio-listen",
        StdioConfig::new(python())
            .with_args([script("stdio_listen_server.py")])
            .with_env("PYTHONWARNINGS", "ignore")
            .with_backoff(Duration::from_millis(200), Duration::from_secs(2)),
    );
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("kid").unwrap(), stdio.clone()))
        .build()
        .unwrap();
    let front = McpFront::new(fed, McpFrontConfig::new("agent-gateway", "test").unwrap());
    let client = McpClient::modern(front);
    tokio::time::timeout(Duration::from_secs(60), stdio.ready())
        .await
        .expect("the stdio child was not ready within 60 s");
    let mut notes = client.listen(ListenFilter::new().tools());
    let (ack, _) = notes.next().await.unwrap();
    assert_eq!(ack, "notifications/subscriptions/acknowledged");
    touch_until_changed(&client, "kid__touch", &mut notes).await;

    // The child crashes and is restarted: the gateway listens to the new one.
    assert!(client.call_tool("kid__crash", json!({})).await.is_err());
    touch_until_changed(&client, "kid__touch", &mut notes).await;
    assert!(stdio.starts() >= 2);
    drop(notes);
    stdio.shutdown().await;
}
