//! Notification streams through the federation to upstreams, in-process: clients of both
//! eras to upstreams of both eras over HTTP, one served directly, one without listen, one
//! that fails and comes back, and a legacy upstream's session kept alive by its GET stream.
//!
//! Time is paused: waiting for an upstream listen to open sleeps on tokio's virtual clock.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::listen::ListenFilter;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{Era, McpFront};
use listen_kit::*;
use serde_json::{Map, Value, json};

#[tokio::test(start_paused = true)]
async fn clients_of_both_eras_through_the_gateway_to_upstreams_of_both_eras() {
    // `m` speaks modern over HTTP, `l` only legacy over HTTP.
    let m = FakeMcpServer::new().with_resource("file:///m", "M");
    let l = FakeMcpServer::new().with_resource("file:///l", "L");
    let m_up = HttpUpstream::new(m.http(config()), "http://m.test/mcp".parse().unwrap());
    let l_up = HttpUpstream::new(
        l.http(config().with_modern(false)),
        "http://l.test/mcp".parse().unwrap(),
    );
    let fed = Federation::builder()
        .member(Member::new(name("m"), m_up.clone()))
        .member(Member::new(name("l"), l_up.clone()))
        .build()
        .unwrap();
    let gateway = McpFront::new(fed, config());
    let filter = ListenFilter::new().tools().resource("l+file:///l");

    let modern = McpClient::modern(gateway.clone());
    let mut modern_notes = modern.listen(filter.clone());
    let (ack, params) = next_note(&mut modern_notes).await;
    assert_eq!(ack, "notifications/subscriptions/acknowledged");
    assert_eq!(params["notifications"], filter.to_value());
    let legacy = McpClient::legacy(gateway.clone());
    let mut legacy_notes = legacy.listen(filter.clone());
    assert_eq!(
        next_note(&mut legacy_notes).await.0,
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(m_up.era().await, Some(Era::Modern));
    assert_eq!(l_up.era().await, Some(Era::Legacy));

    // Upstream `m`: one modern listen per client. Upstream `l`: one GET stream per upstream
    // session there (the legacy client's own, and the one the modern client shares with
    // clients of its capabilities, where `l` sends what it says outside any call), each
    // subscribed once to its URI, plus the legacy client's own `resources/subscribe`, which
    // `l` was asked to accept before the gateway recorded it; `m` owns no subscribed URI and
    // is never asked.
    until("the upstream listens", || {
        m.listeners() == 2 && l.listeners() == 2 && l.calls_of("resources/subscribe") == 3
    })
    .await;
    let with_uri = ListenFilter::all_lists().resource("file:///l");
    until("the legacy upstream's GETs to carry the URI", || {
        l.listen_filters() == [with_uri.clone(), with_uri.clone()]
    })
    .await;
    l.notify_resource_updated("file:///l");
    m.notify_tools_changed();
    for notes in [&mut modern_notes, &mut legacy_notes] {
        let mut got = [next_note(notes).await, next_note(notes).await];
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(got[0].0, "notifications/resources/updated");
        assert_eq!(got[0].1["uri"], "l+file:///l");
        assert_eq!(got[1].0, "notifications/tools/list_changed");
    }

    // The clients leave: the modern listens close, and the GET stream with the last one.
    drop(modern_notes);
    drop(legacy_notes);
    until("every upstream listen to close", || {
        m.listeners() == 0 && l.listeners() == 0
    })
    .await;
    // The gateway's own unsubscribes (one per upstream session), and the legacy client's,
    // passed on.
    until("the upstream unsubscribes", || {
        l.calls_of("resources/unsubscribe") == 3
    })
    .await;
    assert_eq!(m.calls_of("resources/subscribe"), 0);
}

#[tokio::test(start_paused = true)]
async fn an_upstream_listen_that_fails_is_opened_again() {
    let a = FakeMcpServer::new();
    a.set_down(true);
    // Counts the listens the federation opens on `a`, refused or not.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (count, inner) = (attempts.clone(), a.clone());
    let counted = tower::service_fn(move |req: UpstreamRequest| {
        if req.method() == "subscriptions/listen" {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        tower::ServiceExt::oneshot(inner.clone(), req)
    });
    let fed = Federation::builder()
        .member(Member::new(name("a"), counted))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().tools());
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/subscriptions/acknowledged"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(a.listeners(), 0);
    // Opened again after a capped exponential backoff (1 s, then 2 s, then 4 s): at 0, 1 and
    // 3 s within these 5 s, no more.
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
    a.set_down(false);
    until("the listen opened again", || a.listeners() == 1).await;
    a.notify_tools_changed();
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/tools/list_changed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_single_upstream_served_directly_listens_too() {
    let fake = FakeMcpServer::new().with_resource("file:///x", "X");
    let direct = Direct::new(fake.clone());
    let client = McpClient::modern(McpFront::new(direct, config()));
    let mut notes = client.listen(ListenFilter::new().resource("file:///x"));
    assert_eq!(
        next_note(&mut notes).await.1["notifications"],
        json!({"resourceSubscriptions": ["file:///x"]})
    );
    until("the listen", || fake.listeners() == 1).await;
    fake.notify_tools_changed();
    fake.notify_resource_updated("file:///x");
    let (m, p) = next_note(&mut notes).await;
    assert_eq!(
        (m.as_str(), &p["uri"]),
        ("notifications/resources/updated", &json!("file:///x"))
    );
    // The fake is an upstream service too: a listen needs a stream to write to.
    let bare = tower::ServiceExt::oneshot(
        fake.clone(),
        UpstreamRequest::new(
            "subscriptions/listen",
            ListenFilter::new().tools().to_params(),
        ),
    )
    .await;
    // Refused as an invalid request, not any error.
    let err = bare.unwrap_err();
    match err.downcast_ref::<agent_gateway_mcp::McpError>() {
        Some(agent_gateway_mcp::McpError::Upstream(e)) => {
            assert_eq!(e.code, -32600, "{e:?}");
            assert!(e.message.contains("needs a stream"), "{e:?}");
        }
        other => panic!("expected an upstream -32600, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_upstream_without_listen_is_asked_once_and_the_others_still_deliver() {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let old = tower::service_fn(move |req: UpstreamRequest| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let e = agent_gateway_core::jsonrpc::ErrorObject::method_not_found(req.method_name());
        async move {
            Err::<Map<String, Value>, BoxError>(Box::new(agent_gateway_mcp::McpError::Upstream(e)))
        }
    });
    let a = FakeMcpServer::new();
    let fed = Federation::builder()
        .member(Member::new(name("old"), old))
        .member(Member::new(name("a"), a.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().tools());
    next_note(&mut notes).await;
    until("the listen", || a.listeners() == 1).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "no retries"
    );
    a.notify_tools_changed();
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/tools/list_changed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_legacy_upstreams_stream_and_subscriptions_outlive_the_sessions_idle_time() {
    let l = FakeMcpServer::new()
        .with_echo_tool("t")
        .with_resource("file:///l", "L");
    let l_up = HttpUpstream::new(
        l.http(config().with_modern(false)),
        "http://l.test/mcp".parse().unwrap(),
    )
    .with_sessions(Duration::from_secs(60), 8);
    let fed = Federation::builder()
        .member(Member::new(name("l"), l_up.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().resource("l+file:///l"));
    next_note(&mut notes).await;
    let with_uri = ListenFilter::all_lists().resource("file:///l");
    until("the upstream GET with the URI", || {
        l.listen_filters() == [with_uri.clone()]
    })
    .await;
    // Five idle minutes later, and a call through the connector's shared session (which
    // drops the sessions idle past 60 s): the GET stream kept its session alive, so it was
    // never broken, and its subscription holds.
    tokio::time::sleep(Duration::from_secs(300)).await;
    client.list_tools().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        l.calls_of("subscriptions/listen"),
        1,
        "the GET stream was never broken"
    );
    assert_eq!(l.listen_filters(), std::slice::from_ref(&with_uri));
    l.notify_resource_updated("file:///l");
    let (m, p) = next_note(&mut notes).await;
    assert_eq!(
        (m.as_str(), &p["uri"]),
        ("notifications/resources/updated", &json!("l+file:///l"))
    );
}
