//! The extended card is its own action (#11 finding 26): a policy can refuse it while plain
//! discovery and the public card stay allowed, and the refused call reaches no agent.

mod support;

use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aRequest};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{Action, AgentRequest, BoxError, Denied};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn a_rule_refuses_the_extended_card_and_allows_discovery() {
    let fake = FakeAgent::new("echo");
    let router = A2aRouter::new(
        support::registry(&[("echo", &[("i1", &fake, Version::V1_0)])]),
        support::sealer(),
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = tower::service_fn(move |req: A2aRequest| {
        let router = router.clone();
        log.lock().expect("the log").push(req.action());
        async move {
            if req.action() == Action::ExtendedCard {
                return Err(Box::new(Denied::forbidden("extended card not allowed")) as BoxError);
            }
            router.oneshot(req).await
        }
    });
    let client = TestClient::new(A2aFront::new(policy, support::config()));

    // Allowed: discovery and the public card.
    let res = client.get("/").send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    let res = client.get("/echo/.well-known/agent-card.json").send().await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(res.json()["name"], "echo");
    let calls = fake.calls();

    // Refused: the extended card, on every binding and version.
    let rpc = |method: &str| json!({"jsonrpc": "2.0", "id": 5, "method": method});
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&rpc("GetExtendedAgentCard"))
        .send()
        .await;
    assert_eq!(
        res.json()["error"]["data"][0]["reason"],
        "PERMISSION_DENIED",
        "{}",
        res.text()
    );
    let res = client
        .post("/echo")
        .json(&rpc("agent/getAuthenticatedExtendedCard"))
        .send()
        .await;
    assert_eq!(
        res.json()["error"]["data"][0]["reason"],
        "PERMISSION_DENIED",
        "{}",
        res.text()
    );
    let res = client
        .get("/echo/extendedAgentCard")
        .header("a2a-version", "1.0")
        .send()
        .await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(fake.calls(), calls, "no refused call reached the agent");
    let actions = seen.lock().expect("the log").clone();
    assert_eq!(
        actions,
        [
            Action::Discovery,
            Action::Discovery,
            Action::ExtendedCard,
            Action::ExtendedCard,
            Action::ExtendedCard
        ]
    );
}
