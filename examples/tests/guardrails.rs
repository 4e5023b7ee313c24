//! The runnable gateway with `[[guardrails]]`: the pin table (with a digest pinned in the
//! file) is served by the admin router, mounted behind the policy stack.

#![allow(clippy::unwrap_used)]

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::{app, policy::Policies};
use serde_json::json;

const KEY: &str = "Bearer agw-demo-key";

#[tokio::test]
async fn the_pin_admin_router_is_behind_the_policy_stack() {
    let text = format!(
        "{EMBEDDED_DEFAULT}\n[[guardrails]]\nid = \"pins\"\nkind = \"pin\"\npins = {{ \"demo__echo\" = \"{}\" }}\n",
        "00".repeat(32)
    );
    let config = Config::from_toml_str(&text).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let client = TestClient::new(app::router(&config, &policies).unwrap());

    let res = client.get("/admin/guardrails/pins").send().await;
    assert_eq!(res.status(), 401, "{}", res.text());
    let res = client
        .get("/admin/guardrails/pins")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json()[0]["tool"], "demo__echo");
    assert_eq!(res.json()[0]["changed"], false);
    let res = client
        .post("/admin/guardrails/pins/nope/approve")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 404, "{}", res.text());
    let res = client
        .post("/admin/guardrails/pins/demo__echo/approve?digest=zz")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 400, "{}", res.text());
    // Approving a tool never seen approves its pinned digest again: nothing changes.
    let res = client
        .post("/admin/guardrails/pins/demo__echo/approve")
        .header("authorization", KEY)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({"tool": "demo__echo", "approved": "00".repeat(32)})
    );
}
