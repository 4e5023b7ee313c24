//! A legacy session's GET stream belongs to the session's owner (#11, finding 8): another
//! caller's GET on the session is refused before it takes the session's one stream, so the
//! owner's stream stays open and keeps carrying notifications.
//!
//! Time is paused: waiting for an upstream listen to open sleeps on tokio's virtual clock.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use agent_gateway_core::Secret;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_mcp::McpFront;
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use listen_kit::{Reader, config, method, two_upstreams, until};
use serde_json::{Value, json};
use tower::ServiceBuilder;

const ALICE: &str = "sk-alice-0123456789";
const BOB: &str = "sk-bob-0123456789ab";

#[tokio::test(start_paused = true)]
async fn another_caller_cannot_end_the_owners_get_stream() {
    let (a, b, fed) = two_upstreams();
    let keys = ApiKeys::new()
        .with_key(Secret::new(ALICE.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB.to_owned()), Principal::new("bob"));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .service(fed);
    let client = TestClient::new(McpFront::new(stack, config()));
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let res = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", &format!("Bearer {ALICE}"))
        .json(&init)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let session = res.header("mcp-session-id").unwrap().to_owned();
    let get = |key: &str| {
        client
            .get("/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("authorization", &format!("Bearer {key}"))
            .send_raw()
    };
    let res = get(ALICE).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut events = Reader::new(res.into_body());
    assert_eq!(events.next().await.data, Value::Null, "the priming event");
    until("both upstream listens", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    let listens = a.calls_of("subscriptions/listen");

    // Bob, with a valid key of his own, on Alice's session: 404, and no listen upstream.
    let res = get(BOB).await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(a.calls_of("subscriptions/listen"), listens);

    // Alice's stream is still hers and still open.
    b.notify_prompts_changed();
    assert_eq!(
        method(&events.next().await),
        "notifications/prompts/list_changed"
    );
    assert_eq!((a.listeners(), b.listeners()), (1, 1));
}
