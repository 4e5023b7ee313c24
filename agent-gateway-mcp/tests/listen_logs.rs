//! Log messages an upstream sends on its own, outside any call, through the front and a
//! federation, in-process: a modern client gets them on a `subscriptions/listen` stream opened
//! with `_meta["io.modelcontextprotocol/logLevel"]`, a legacy client on its session's GET
//! stream at the level it set with `logging/setLevel` (even after the stream opened); never
//! below that level, and never for a modern listen that did not opt in (issue #13 item 8).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_mcp::McpFront;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::listen::META_SUBSCRIPTION_ID;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use serde_json::{Value, json};

use listen_kit::{
    Front, MODERN, Reader, config, get_stream, initialize, legacy_post, method, name, until,
};

/// A modern listen asking for tool list changes, opted in to log messages at `level` (if any).
async fn listen_at<F: Front>(front: &F, id: Value, level: Option<&str>) -> Reader {
    let mut meta = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
                          "io.modelcontextprotocol/clientCapabilities": {}});
    if let Some(level) = level {
        meta["io.modelcontextprotocol/logLevel"] = json!(level);
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
                      "params": {"notifications": {"toolsListChanged": true}, "_meta": meta}});
    let res = TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "subscriptions/listen")
        .json(&body)
        .send_raw()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut events = Reader::new(res.into_body());
    assert_eq!(
        method(&events.next().await),
        "notifications/subscriptions/acknowledged"
    );
    events
}

/// The next event that carries a message (a legacy stream may open with an empty priming
/// event).
async fn next_message(events: &mut Reader) -> listen_kit::Ev {
    loop {
        let ev = events.next().await;
        if !ev.data.is_null() {
            return ev;
        }
    }
}

fn federation(upstream: FakeMcpServer) -> Federation {
    Federation::builder()
        .member(Member::new(name("a"), upstream))
        .member(Member::new(name("b"), FakeMcpServer::new()))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_modern_listen_gets_the_upstreams_own_logs_at_its_level_only() {
    // In-process, and behind a modern HTTP hop (where the level travels in `_meta`).
    let direct = FakeMcpServer::new();
    let behind_http = FakeMcpServer::new();
    let http = HttpUpstream::new(
        behind_http.http(config()),
        "http://a.test/mcp".parse().unwrap(),
    );
    let over_http = Federation::builder()
        .member(Member::new(name("a"), http))
        .build()
        .unwrap();
    for (upstream, fed) in [
        (direct.clone(), federation(direct)),
        (behind_http.clone(), over_http),
    ] {
        let front = McpFront::new(fed, config());
        let mut warned = listen_at(&front, json!("W"), Some("warning")).await;
        let mut silent = listen_at(&front, json!("S"), None).await;
        until("both upstream listens", || upstream.listeners() == 2).await;

        upstream.log("info", "below");
        upstream.log("error", "at or above");
        upstream.notify_tools_changed();
        // The info message would have come first: the error one does.
        let ev = warned.next().await;
        assert_eq!(method(&ev), "notifications/message", "{:?}", ev.data);
        assert_eq!(ev.data["params"]["level"], "error");
        assert_eq!(ev.data["params"]["data"], "at or above");
        assert_eq!(ev.data["params"]["_meta"][META_SUBSCRIPTION_ID], "W");
        assert_eq!(
            method(&warned.next().await),
            "notifications/tools/list_changed"
        );
        // A listen that did not opt in gets the change and no log message at all.
        assert_eq!(
            method(&silent.next().await),
            "notifications/tools/list_changed"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_legacy_get_stream_gets_them_at_the_sessions_level_as_it_changes() {
    let upstream = FakeMcpServer::new();
    let front = McpFront::new(federation(upstream.clone()), config());
    let session = initialize(&front).await;
    let res = get_stream(&front, Some(&session)).await;
    assert_eq!(res.status(), 200);
    let mut events = Reader::new(res.into_body());
    until("the upstream listen", || upstream.listeners() == 1).await;

    // The level is set after the stream opened: it applies at once.
    let set = legacy_post(
        &front,
        &session,
        "logging/setLevel",
        json!({"level": "error"}),
    )
    .await;
    assert_eq!(set["result"], json!({}), "{set}");
    upstream.log("warning", "below");
    upstream.log("critical", "above");
    let ev = next_message(&mut events).await;
    assert_eq!(method(&ev), "notifications/message", "{:?}", ev.data);
    assert_eq!(ev.data["params"]["level"], "critical");
    assert!(ev.id.is_some(), "legacy events carry ids");

    let set = legacy_post(
        &front,
        &session,
        "logging/setLevel",
        json!({"level": "debug"}),
    )
    .await;
    assert_eq!(set["result"], json!({}), "{set}");
    upstream.log("debug", "now wanted");
    let ev = next_message(&mut events).await;
    assert_eq!(
        (method(&ev), &ev.data["params"]["data"]),
        ("notifications/message", &json!("now wanted"))
    );
}
