//! The session tables' per-caller shares, through the front with real callers (#12): two API
//! keys through the policy crate's auth, a fake upstream, a [`SessionStore`] with small
//! [`SessionLimits`]. One caller filling its share of subscription sessions is refused with a
//! JSON-RPC error naming the limit while the other still subscribes, and the table never holds
//! more than its bound; a caller's log levels past its share evict its own oldest, never
//! another caller's.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{BoxError, Secret};
use agent_gateway_mcp::front::ResponseBody;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::session::{SessionLimits, SessionStore};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::{Service, ServiceBuilder, ServiceExt};

const ALICE: &str = "sk-alice-0123456789";
const BOB: &str = "sk-bob-0123456789ab";

/// How many of one caller's sessions may hold subscriptions.
const SUBSCRIPTION_SHARE: usize = 2;
/// How many sessions may hold subscriptions in all.
const SUBSCRIPTION_SESSIONS: usize = 3;
/// How many of one caller's sessions' log levels are remembered.
const LEVEL_SHARE: usize = 2;

type Request = http::Request<Full<Bytes>>;

/// The front over auth (two API keys) over a fake upstream: a resource to subscribe to, and a
/// tool `level` answering with the log level the client's hop carried (`none` when unset).
fn front()
-> impl Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone {
    front_counting(Arc::default())
}

/// [`front`], counting in `subscribes` the `resources/subscribe` requests the upstream gets.
fn front_counting(
    subscribes: Arc<AtomicUsize>,
) -> impl Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone {
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
    let keys = ApiKeys::new()
        .with_key(Secret::new(ALICE.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB.to_owned()), Principal::new("bob"));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .service(Direct::new(upstream));
    let limits = SessionLimits::default()
        .with_subscriptions(SUBSCRIPTION_SESSIONS, SUBSCRIPTION_SHARE, 4)
        .with_log_levels(16, LEVEL_SHARE);
    McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap())
        .with_session_store(Arc::new(SessionStore::with_limits(limits)))
}

fn post(body: &Value, session: Option<&str>, key: &str) -> Request {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {key}"));
    if let Some(s) = session {
        b = b
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// Sends `body` as `key`'s caller: the status and the JSON answer.
async fn send<S>(front: &S, body: &Value, session: Option<&str>, key: &str) -> (u16, Value)
where
    S: Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone,
{
    let res = front
        .clone()
        .oneshot(post(body, session, key))
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A new legacy session of `key`'s caller, initialized.
async fn open<S>(front: &S, key: &str) -> String
where
    S: Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone,
{
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = front.clone().oneshot(post(&init, None, key)).await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _) = send(front, &initialized, Some(&session), key).await;
    assert_eq!(status, 202);
    session
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
async fn level_seen<S>(front: &S, session: &str, key: &str) -> String
where
    S: Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone,
{
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
