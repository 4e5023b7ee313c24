//! Notification streams on the wire, in-process: the modern `subscriptions/listen` answer
//! (acknowledgment first, tagging, filtering, URIs in client form, a client leaving), the
//! legacy GET stream with `resources/subscribe`, their errors, and what the front advertises.
//!
//! Time is paused: waiting for an upstream listen to open sleeps on tokio's virtual clock.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentRequest, BoxError, Denied};
use agent_gateway_mcp::listen::META_SUBSCRIPTION_ID;
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_mcp::{McpFront, McpRequest, McpResponse};
use http_body_util::BodyExt;
use listen_kit::*;
use serde_json::{Map, Value, json};

#[tokio::test(start_paused = true)]
async fn modern_listen_acks_first_then_only_what_was_asked_tagged_and_in_client_names() {
    let (a, b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let res = post_listen(
        &front,
        json!("L1"),
        json!({"toolsListChanged": true,
               "resourceSubscriptions": ["a+file:///a", "nobody+file:///x"]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Reader::new(res.into_body());

    // The acknowledgment comes first: what was asked, less the URI no upstream owns.
    let ack = events.next().await;
    assert_eq!(method(&ack), "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack.data["params"],
        json!({"notifications": {"toolsListChanged": true,
                                 "resourceSubscriptions": ["a+file:///a"]},
               "_meta": {META_SUBSCRIPTION_ID: "L1"}})
    );
    assert_eq!(ack.id, None, "no event ids on a modern stream");

    // One listen per upstream, each asking for its own part only.
    until("both upstream listens", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    b.notify_tools_changed();
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/tools/list_changed");
    assert_eq!(ev.data["params"]["_meta"][META_SUBSCRIPTION_ID], "L1");

    // Not asked for: prompts, the resource list, a URI not subscribed. Then one that was.
    a.notify_prompts_changed();
    a.notify_resources_changed();
    a.notify_resource_updated("file:///other");
    b.notify_resource_updated("file:///b");
    a.notify_resource_updated("file:///a");
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/resources/updated");
    assert_eq!(
        ev.data["params"],
        json!({"uri": "a+file:///a", "_meta": {META_SUBSCRIPTION_ID: "L1"}})
    );
    a.notify_tools_changed();
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );

    // The client leaves: every upstream listen goes with it.
    drop(events);
    until("the upstream listens to close", || {
        a.listeners() == 0 && b.listeners() == 0
    })
    .await;
    assert_eq!(a.calls_of("subscriptions/listen"), 1);
}

#[tokio::test(start_paused = true)]
async fn the_front_acknowledges_when_the_inner_service_does_not_and_never_widens_the_filter() {
    // An inner service that sends a change at once, with no acknowledgment, and a kind that
    // was not asked for, then ends.
    let inner = tower::service_fn(|req: McpRequest| async move {
        let notifier = req
            .extensions()
            .get::<agent_gateway_mcp::notify::Notifier>()
            .cloned()
            .unwrap();
        notifier
            .notify("notifications/prompts/list_changed", Map::new())
            .await;
        notifier
            .notify("notifications/tools/list_changed", Map::new())
            .await;
        Ok::<_, BoxError>(McpResponse::for_method(req.method(), json!({})))
    });
    let front = McpFront::new(inner, config());
    let res = post_listen(&front, json!(7), json!({"toolsListChanged": true})).await;
    let mut events = Reader::new(res.into_body());
    let ack = events.next().await;
    assert_eq!(method(&ack), "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack.data["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    assert_eq!(ack.data["params"]["_meta"][META_SUBSCRIPTION_ID], 7);
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );
    // The inner call ended: the graceful close is the listen's response, tagged.
    let end = events.next().await;
    assert_eq!(end.data["id"], 7);
    assert_eq!(end.data["result"]["resultType"], "complete");
    assert_eq!(end.data["result"]["_meta"][META_SUBSCRIPTION_ID], 7);
}

#[tokio::test(start_paused = true)]
async fn a_denied_listen_is_a_plain_error_in_both_eras() {
    let inner = tower::service_fn(|req: McpRequest| async move {
        if req.method() == "subscriptions/listen" {
            return Err(BoxError::from(Denied::forbidden("no listening")));
        }
        Ok(McpResponse::for_method(req.method(), json!({})))
    });
    let front = McpFront::new(inner, config());
    let res = post_listen(&front, json!(1), json!({"toolsListChanged": true})).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], -32003);

    let session = initialize(&front).await;
    let res = get_stream(&front, Some(&session)).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test(start_paused = true)]
async fn legacy_get_stream_primes_then_carries_list_changes_and_subscribed_updates() {
    let (a, b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let session = initialize(&front).await;
    let res = get_stream(&front, Some(&session)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Reader::new(res.into_body());
    let priming = events.next().await;
    assert!(priming.id.is_some());
    assert_eq!(priming.data, Value::Null, "a priming event has empty data");

    until("both upstream listens", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    b.notify_prompts_changed();
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/prompts/list_changed");
    assert!(
        ev.id.is_some() && ev.id != priming.id,
        "every event has its own id"
    );
    assert_eq!(
        ev.data["params"].get("_meta"),
        None,
        "no subscription id on legacy"
    );

    // Not subscribed yet: no update. Then subscribed: the GET's listen is opened anew.
    a.notify_resource_updated("file:///a");
    let ok = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}), "{ok}");
    until("the listen with the URI", || {
        a.calls_of("subscriptions/listen") == 2 && a.listeners() == 1
    })
    .await;
    a.notify_resource_updated("file:///a");
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/resources/updated");
    assert_eq!(ev.data["params"], json!({"uri": "a+file:///a"}));

    // A URI no upstream owns is refused, and recorded nowhere.
    let refused = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "zz+file:///a"}),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let calls = a.calls_of("subscriptions/listen");

    let ok = legacy_post(
        &front,
        &session,
        "resources/unsubscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}));
    until("the listen without the URI", || {
        a.calls_of("subscriptions/listen") == calls + 1 && a.listeners() == 1
    })
    .await;
    a.notify_resource_updated("file:///a");
    a.notify_tools_changed();
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );

    // A second GET stream on the session takes over: the first ends, nothing is doubled.
    let res = get_stream(&front, Some(&session)).await;
    let mut second = Reader::new(res.into_body());
    assert_eq!(second.next().await.data, Value::Null);
    assert!(
        events.events.recv().await.is_none(),
        "the first stream ended"
    );
    until("one listen per upstream", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    drop(events);

    // Deleting the session ends its GET stream, and the listens under it.
    let deleted = TestClient::new(front.clone())
        .delete("/mcp")
        .header("mcp-session-id", &session)
        .send()
        .await;
    assert_eq!(deleted.status(), 200);
    assert!(second.events.recv().await.is_none(), "the stream ended");
    until("the upstream listens to close", || {
        a.listeners() == 0 && b.listeners() == 0
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn get_streams_need_a_valid_session_and_the_legacy_era() {
    let (_, _, fed) = two_upstreams();
    let front = McpFront::new(fed.clone(), config());
    assert_eq!(get_stream(&front, None).await.status(), 400);
    assert_eq!(get_stream(&front, Some("forged")).await.status(), 404);
    let session = initialize(&front).await;
    let res = TestClient::new(front.clone())
        .get("/mcp")
        .header("accept", "application/json")
        .header("mcp-session-id", &session)
        .send()
        .await;
    assert_eq!(res.status(), 406);
    let modern_only = McpFront::new(fed, config().with_legacy(false));
    let res = get_stream(&modern_only, Some(&session)).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");

    // Each era's methods only: a legacy client cannot listen, a modern one cannot subscribe.
    let listen = legacy_post(
        &front,
        &session,
        "subscriptions/listen",
        json!({"notifications": {}}),
    )
    .await;
    assert_eq!(listen["error"]["code"], -32601);
    let client = McpClient::modern(front.clone());
    let err = client
        .request("resources/subscribe", json!({"uri": "a+file:///a"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-32601));
}

#[tokio::test(start_paused = true)]
async fn discovery_and_initialize_advertise_what_the_streams_deliver() {
    let (_, _, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let expected = json!({"tools": {"listChanged": true}, "prompts": {"listChanged": true},
                          "resources": {"listChanged": true, "subscribe": true},
                          "completions": {}, "logging": {}});
    let modern = McpClient::modern(front.clone());
    let discovered = modern.request("server/discover", json!({})).await.unwrap();
    assert_eq!(discovered["capabilities"], expected);
    let legacy = McpClient::legacy(front);
    let init = legacy
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25",
        "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(init["capabilities"], expected);
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_gets_a_keep_alive_comment() {
    let (_a, _b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let res = post_listen(&front, json!("L1"), json!({"toolsListChanged": true})).await;
    let mut body = res.into_body();
    let ack = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let ack = parse(&ack).expect("an event, not a comment");
    assert_eq!(method(&ack), "notifications/subscriptions/acknowledged");
    // Nothing happens upstream: once the clock passes the keep-alive period, the stream
    // writes a comment, which clients ignore and proxies see as traffic.
    let started = tokio::time::Instant::now();
    let idle = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&idle[..], b": keep-alive\n");
    assert!(started.elapsed() >= std::time::Duration::from_secs(15));
}
