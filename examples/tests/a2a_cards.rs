//! The runnable gateway's A2A card options: a default agent's card at the host root (where
//! A2A 0.3 clients look), 1.0-only cards when configured, and push-config requests to an
//! agent without push support answered PushNotificationNotSupported, on the embedded
//! defaults' demo agent, in-process.

#![allow(clippy::unwrap_used, reason = "test code")]

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use serde_json::json;

const KEY: &str = "Bearer agw-demo-key";

/// The embedded defaults with `extra` lines at the top of the `[a2a]` section.
async fn gateway(extra: &str) -> TestClient<axum::Router> {
    assert!(
        EMBEDDED_DEFAULT.contains("\n[a2a]\n"),
        "the [a2a] section moved"
    );
    let text = EMBEDDED_DEFAULT.replacen("\n[a2a]\n", &format!("\n[a2a]\n{extra}"), 1);
    let config = Config::from_toml_str(&text).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    TestClient::new(app::router(&config, &policies).unwrap())
}

#[tokio::test]
async fn the_default_agents_card_is_at_the_root_and_1_0_only_when_configured() {
    let client = gateway("default_agent = \"demo\"\ncard_versions = \"1.0\"\n").await;
    let res = client
        .get("/.well-known/agent-card.json")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let card = res.json();
    assert_eq!(card["name"], "demo");
    assert!(
        card["supportedInterfaces"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/a2a/demo")
    );
    // 1.0 only: none of the 0.3 members.
    for key in [
        "url",
        "preferredTransport",
        "additionalInterfaces",
        "protocolVersion",
    ] {
        assert!(card.get(key).is_none(), "{key}: {card}");
    }
    // The defaults: no root card, and the dual card under the agent's path.
    let client = gateway("").await;
    let res = client
        .get("/.well-known/agent-card.json")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 404);
    let card = client
        .get("/a2a/demo/.well-known/agent-card.json")
        .header("authorization", KEY)
        .send()
        .await
        .json();
    assert_eq!(card["protocolVersion"], "0.3.0");
}

#[tokio::test]
async fn a_push_config_to_the_demo_agent_is_not_supported() {
    // The demo agent's card says pushNotifications: false; no webhook is allowed either, and
    // the capability is what the client hears of.
    let client = gateway("").await;
    let res = client
        .post("/a2a/demo")
        .header("authorization", KEY)
        .header("a2a-version", "1.0")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "CreateTaskPushNotificationConfig",
            "params": {"taskId": "t1", "url": "https://hooks.example.com/x"}}),
        )
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], -32003, "{}", res.text());
}
