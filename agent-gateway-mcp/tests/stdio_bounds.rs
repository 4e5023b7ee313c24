//! A stdio child that stops reading its stdin (finding 19): calls fail fast once the bounded
//! write queue is full, the queue never grows past its bound, and the child is restarted after
//! the stall timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use agent_gateway_mcp::connector::stdio::{StdioConfig, StdioError, StdioUpstream};
use agent_gateway_mcp::upstream::UpstreamRequest;
use serde_json::json;
use tower::ServiceExt;

/// Answers `initialize`, then never reads again.
const DEAF: &str = r#"
import json, sys, time
m = json.loads(sys.stdin.readline())
print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": {"protocolVersion": m["params"]["protocolVersion"],
      "capabilities": {}, "serverInfo": {"name": "deaf", "version": "1"}}}), flush=True)
time.sleep(3600)
"#;

const MAX_QUEUED: usize = 1024 * 1024;

fn big_call() -> UpstreamRequest {
    let params = json!({"name": "t", "arguments": {"blob": "x".repeat(200 * 1024)}});
    UpstreamRequest::new("tools/call", params.as_object().cloned().unwrap())
}

#[tokio::test]
async fn a_child_that_stops_reading_fails_calls_fast_and_is_restarted() {
    let config = StdioConfig::new("python3")
        .with_args(["-c", DEAF])
        .with_max_queued(MAX_QUEUED)
        .with_stall_timeout(Duration::from_millis(1500))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(10));
    let deaf = StdioUpstream::spawn("deaf", config);
    tokio::time::timeout(Duration::from_secs(10), deaf.ready())
        .await
        .expect("the child never finished its handshake");

    // Each call's line waits in the queue (the pipe holds a little); its caller gives up
    // early, but the line stays queued, until no room is left.
    let mut full = None;
    for n in 0..20 {
        let call = deaf.clone().oneshot(big_call());
        match tokio::time::timeout(Duration::from_millis(100), call).await {
            Err(_) => assert!(deaf.queued() <= MAX_QUEUED),
            Ok(Err(e)) => {
                full = Some((n, e));
                break;
            }
            Ok(Ok(r)) => panic!("a deaf child answered: {r:?}"),
        }
    }
    let (n, err) = full.expect("the queue never filled");
    assert_eq!(
        err.downcast_ref::<StdioError>(),
        Some(&StdioError::QueueFull),
        "{err}"
    );
    assert!(n >= 3, "a few calls fit first ({n})");
    assert!(deaf.queued() <= MAX_QUEUED, "the queue stays at its bound");
    // Still full: the next call fails too, without waiting.
    let again = tokio::time::timeout(Duration::from_secs(5), deaf.clone().oneshot(big_call()))
        .await
        .expect("a full queue answers at once");
    assert!(again.is_err());

    // The child took nothing for the stall timeout: restarted, with an empty queue.
    for _ in 0..200 {
        if deaf.starts() >= 2 && deaf.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(deaf.starts() >= 2, "the stuck child was restarted");
    assert_eq!(deaf.queued(), 0);
    deaf.shutdown().await;
}
