//! Legacy `resources/subscribe` through a federation: the owning upstream is asked before
//! anything is recorded, and a URI too long to keep is refused with no upstream call
//! (finding 3).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use agent_gateway_mcp::McpFront;
use listen_kit::{config, initialize, legacy_post, two_upstreams};
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn the_owning_upstream_is_asked_before_a_subscription_is_recorded() {
    let (a, b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let session = initialize(&front).await;

    // A URI `a` does not serve: `a` is asked and refuses; the client gets its refusal.
    let refused = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "a+file:///missing"}),
    )
    .await;
    assert!(refused["error"]["code"].is_i64(), "{refused}");
    assert_eq!(a.calls_of("resources/subscribe"), 1);

    // Too long to keep: refused at the front, no upstream asked.
    let long = format!("a+file:///{}", "x".repeat(2048));
    let refused = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": long}),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too long"),
        "{refused}"
    );
    assert_eq!(a.calls_of("resources/subscribe"), 1);

    // A URI `a` serves: asked, accepted, in its own form; `b` is never asked.
    let ok = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}), "{ok}");
    assert_eq!(a.calls_of("resources/subscribe"), 2);
    assert_eq!(b.calls_of("resources/subscribe"), 0);

    let ok = legacy_post(
        &front,
        &session,
        "resources/unsubscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}), "{ok}");
    assert_eq!(a.calls_of("resources/unsubscribe"), 1);
}
