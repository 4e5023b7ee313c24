//! A real legacy HTTP+SSE server (2024-11-05) on the official python `mcp` SDK (its
//! `sse_app()`), federated by the gateway through `SseUpstream`, and reached by the python SDK
//! client in both eras, all on 127.0.0.1 ports the OS picks.
//!
//! The python lives in the venv under `$AGW_PEERS_DIR` (default `<workspace>/.ci/cache`).
//! Without it these tests skip with a notice (with `AGW_REQUIRE_PEERS=1`, FAIL saying how to
//! install it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use agent_gateway_mcp::connector::SseUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use common::{python_client, python_server, serve, strings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_clients_reach_a_python_sdk_sse_server_through_the_gateway() {
    let Some(_) = common::python_peer() else {
        return;
    };
    let (url, _server) = python_server("sse_server.py").await;
    // The helper names the streamable-HTTP path; this server's stream is at /sse.
    let sse = format!("{}/sse", url.strip_suffix("/mcp").unwrap());
    let upstream = SseUpstream::connect(sse.parse().unwrap());
    let fed = Federation::builder()
        .member(Member::new(
            ServerName::new("legacy").unwrap(),
            upstream.clone(),
        ))
        .build()
        .unwrap();
    let gateway = serve(McpFront::new(
        fed,
        McpFrontConfig::new("agent-gateway", "test").unwrap(),
    ))
    .await;

    // Two clients at once, one per era, share the upstream's one stream.
    let (modern, legacy) = tokio::join!(
        python_client(&gateway, "2026-07-28", "legacy__add", r#"{"a": 2, "b": 3}"#),
        python_client(&gateway, "legacy", "legacy__add", r#"{"a": 40, "b": 2}"#),
    );
    for (report, want) in [(&modern, "5"), (&legacy, "42")] {
        assert_eq!(
            strings(&report["tools"]),
            ["legacy__add", "legacy__count"],
            "{report}"
        );
        assert_eq!(strings(&report["content"]), [want], "{report}");
        assert_eq!(report["isError"], false);
    }
    assert_eq!(modern["protocolVersion"], "2026-07-28");
    assert_eq!(legacy["protocolVersion"], "2025-11-25");

    // A tool that reports progress and logs on the stream before its answer.
    let report = python_client(&gateway, "legacy", "legacy__count", r#"{"n": 3}"#).await;
    assert_eq!(strings(&report["content"]), ["counted 3"], "{report}");

    assert!(upstream.is_connected());
    assert_eq!(upstream.streams_opened(), 1);
}
