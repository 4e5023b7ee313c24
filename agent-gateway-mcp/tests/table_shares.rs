//! The session tables' per-caller shares, through the front with real callers (#12): two API
//! keys through the policy crate's auth, a fake upstream, a [`SessionStore`] with small
//! [`SessionLimits`]. One caller filling its share of subscription sessions is refused with a
//! JSON-RPC error naming the limit while the other still subscribes, and the table never holds
//! more than its bound; a caller's log levels past its share evict its own oldest, never
//! another caller's.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod shares_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::BoxError;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_mcp::session::SessionLimits;
use agent_gateway_mcp::upstream::UpstreamRequest;
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Map, Value, json};
use shares_support::{ALICE, BOB, Front, open, send};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// How many of one caller's sessions may hold subscriptions.
const SUBSCRIPTION_SHARE: usize = 2;
/// How many sessions may hold subscriptions in all.
const SUBSCRIPTION_SESSIONS: usize = 3;
/// How many of one caller's sessions' log levels are remembered.
const LEVEL_SHARE: usize = 2;

/// The front over auth (two API keys) over a fake upstream: a resource to subscribe to, and a
/// tool `level` answering with the log level the client's hop carried (`none` when unset).
fn front() -> impl Front {
    front_counting(Arc::default())
}

/// [`front`], counting in `subscribes` the `resources/subscribe` requests the upstream gets.
fn front_counting(subscribes: Arc<AtomicUsize>) -> impl Front {
    let upstream = FakeUpstream::new(move |req: UpstreamRequest| {
        if req.method_name() == "resources/subscribe" {
            subscribes.fetch_add(1, Ordering::SeqCst);
        }
        let level = req
            .client()
            .and_then(|c| c.log_level())
            .unwrap_or("none")
            .to_owned();
        let result = match req.params().get("name").and_then(Value::as_str) {
            Some("level") => json!({"content": [{"type": "text", "text": level}]}),
            _ => json!({}),
        };
        Ok::<_, BoxError>(result.as_object().cloned().unwrap_or_else(Map::new))
    });
    let limits = SessionLimits::default()
        .with_subscriptions(SUBSCRIPTION_SESSIONS, SUBSCRIPTION_SHARE, 4)
        .with_log_levels(16, LEVEL_SHARE);
    shares_support::front(BoxCloneSyncService::new(upstream), limits)
}

fn subscribe(uri: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": uri}})
}

fn refused(what: &str, (status, body): &(u16, Value), message: &str) {
    assert_eq!(*status, 200, "{what}: {body}");
    assert_eq!(body["error"]["code"], -32602, "{what}: {body}");
    let text = body["error"]["message"].as_str().unwrap_or_default();
    assert!(text.contains(message), "{what}: {body}");
    assert!(body.get("result").is_none(), "{what}: {body}");
}

fn served(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(
        (*status, &body["result"]),
        (200, &json!({})),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn a_caller_past_its_subscription_share_is_refused_while_another_subscribes() {
    let subscribes = Arc::new(AtomicUsize::new(0));
    let front = front_counting(subscribes.clone());
    let uri = "file:///a";
    let mut alice = Vec::new();
    for _ in 0..SUBSCRIPTION_SHARE {
        let s = open(&front, ALICE).await;
        served(
            "alice within her share",
            &send(&front, &subscribe(uri), Some(&s), ALICE).await,
        );
        alice.push(s);
    }
    // Her next session is past her share: refused, naming the per-caller limit, before the
    // upstream is asked (nothing is left subscribed upstream that the gateway does not record).
    assert_eq!(subscribes.load(Ordering::SeqCst), SUBSCRIPTION_SHARE);
    let over = open(&front, ALICE).await;
    let answer = send(&front, &subscribe(uri), Some(&over), ALICE).await;
    refused(
        "alice past her share",
        &answer,
        &format!(
            "too many of this caller's sessions hold subscriptions (at most {SUBSCRIPTION_SHARE})"
        ),
    );
    assert_eq!(subscribes.load(Ordering::SeqCst), SUBSCRIPTION_SHARE);
    // A session already in the table still takes another URI: the share counts sessions.
    served(
        "alice's held session",
        &send(&front, &subscribe("file:///b"), Some(&alice[0]), ALICE).await,
    );

    // Bob is still served.
    let bob = open(&front, BOB).await;
    served("bob", &send(&front, &subscribe(uri), Some(&bob), BOB).await);

    // The table is at its bound: nobody's next session gets in, Bob's included, and the
    // refusal names the table's limit.
    let bob_over = open(&front, BOB).await;
    let answer = send(&front, &subscribe(uri), Some(&bob_over), BOB).await;
    refused(
        "bob past the table's bound",
        &answer,
        &format!("no room for another session's subscriptions (at most {SUBSCRIPTION_SESSIONS})"),
    );

    // Ending one of Alice's sessions frees her share: her refused session now subscribes.
    let end = http::Request::delete("/mcp")
        .header("mcp-session-id", alice[1].as_str())
        .header("authorization", format!("Bearer {ALICE}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(front.clone().oneshot(end).await.unwrap().status(), 200);
    served(
        "alice after ending one",
        &send(&front, &subscribe(uri), Some(&over), ALICE).await,
    );
}

/// The log level the upstream saw on a `level` call in `session`.
async fn level_seen(front: &impl Front, session: &str, key: &str) -> String {
    let call =
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "level"}});
    let (status, body) = send(front, &call, Some(session), key).await;
    assert_eq!(status, 200, "{body}");
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no level in {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_caller_past_its_log_level_share_evicts_its_own_oldest() {
    let front = front();
    let set = |level: &str| {
        json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
            "params": {"level": level}})
    };
    let bob = open(&front, BOB).await;
    served(
        "bob sets",
        &send(&front, &set("error"), Some(&bob), BOB).await,
    );
    let mut alice = Vec::new();
    for _ in 0..=LEVEL_SHARE {
        let s = open(&front, ALICE).await;
        served(
            "alice sets",
            &send(&front, &set("warning"), Some(&s), ALICE).await,
        );
        alice.push(s);
    }
    // Alice's oldest setting went (her session falls back to every level, as a session that
    // set none); her newer ones and Bob's, older than all of hers, stayed.
    assert_eq!(level_seen(&front, &alice[0], ALICE).await, "debug");
    for s in &alice[1..] {
        assert_eq!(level_seen(&front, s, ALICE).await, "warning");
    }
    assert_eq!(level_seen(&front, &bob, BOB).await, "error");
}
