//! A2A task ownership behind the real auth layer (#11 finding 1): two API keys, and a
//! JWT-style authenticator whose subject and tenant equal an API key's. Only the caller who
//! started a task can read, cancel, list or continue it; the others get "task not found" and
//! the agent is not called.

#![allow(clippy::unwrap_used)]

use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest, A2aResponse};
use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{BoxError, Caller, Secret};
use agent_gateway_policy::auth::{
    ApiKeys, AuthError, AuthLayer, Authenticator, Credentials, Principal,
};
use async_trait::async_trait;
use http::HeaderName;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const ALICE: &str = "sk-alice-owner-0000";
const BOB: &str = "sk-bob-owner-000000";

/// A stand-in for a JWT authenticator: `x-test-jwt: <sub>` is a verified token of one issuer,
/// in alice's tenant.
struct TestJwt;

#[async_trait]
impl Authenticator for TestJwt {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        let sub = credentials.header(&HeaderName::from_static("x-test-jwt"))?;
        Ok(sub.map(|sub| {
            Caller::new(sub)
                .with_method(AuthMethod::Jwt)
                .with_issuer("https://idp.example.com")
                .with_tenant("acme")
        }))
    }

    fn credential_headers(&self) -> Vec<HeaderName> {
        vec![HeaderName::from_static("x-test-jwt")]
    }
}

type Front = A2aFront<BoxCloneSyncService<A2aRequest, A2aResponse, BoxError>>;

fn gateway(agents: &[(&str, &FakeAgent, Version)]) -> TestClient<Front> {
    let mut registry = AgentRegistry::builder();
    for (name, fake, version) in agents {
        let agent = Agent::new(name)
            .unwrap()
            .instance(
                "i1",
                &format!("http://{name}.internal/"),
                *version,
                fake.connector(),
            )
            .unwrap();
        registry = registry.agent(agent);
    }
    let hooks = || {
        WebhookAllowList::new()
            .allow("https://hooks.example.com/")
            .unwrap()
    };
    let router = A2aRouter::new(
        registry.build().unwrap(),
        Sealer::new(Secret::new(vec![3; 32])).unwrap(),
    )
    .with_webhooks(hooks());
    let keys = ApiKeys::new()
        .with_key(
            Secret::new(ALICE.into()),
            Principal::new("alice").with_tenant("acme"),
        )
        .with_key(
            Secret::new(BOB.into()),
            Principal::new("bob").with_tenant("globex"),
        );
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new((keys, TestJwt)))
        .service(router);
    TestClient::new(A2aFront::new(
        BoxCloneSyncService::new(stack),
        A2aFrontConfig::new("https://gw.example.com/a2a")
            .unwrap()
            .with_webhooks(hooks()),
    ))
}

/// The credential headers of each caller.
const ALICE_KEY: (&str, &str) = ("authorization", "Bearer sk-alice-owner-0000");
const BOB_KEY: (&str, &str) = ("authorization", "Bearer sk-bob-owner-000000");
const ALICE_JWT: (&str, &str) = ("x-test-jwt", "alice");

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

#[tokio::test]
async fn only_the_caller_who_started_a_task_can_touch_it_behind_the_auth_layer() {
    let (v1, v03) = (FakeAgent::new("new"), FakeAgent::new("old").v03());
    let client = gateway(&[("new", &v1, Version::V1_0), ("old", &v03, Version::V0_3)]);
    for (agent, fake) in [("new", &v1), ("old", &v03)] {
        let post = |who: (&str, &str), body: Value| {
            client
                .post(&format!("/{agent}"))
                .header(who.0, who.1)
                .header("a2a-version", "1.0")
                .json(&body)
        };
        let start = rpc(
            "SendMessage",
            json!({"message": {"messageId": "m1", "role": "ROLE_USER",
            "parts": [{"text": "ALICE SECRET"}]}}),
        );
        let res = post(ALICE_KEY, start).send().await;
        assert_eq!(res.status(), 200, "{}", res.text());
        let task = res.json()["result"]["task"].clone();
        let (t, c) = (
            task["id"].as_str().unwrap().to_owned(),
            task["contextId"].as_str().unwrap().to_owned(),
        );

        // The router reads the agent's card (its push capability) on push requests: fetched
        // here, so that the counts below are of requests reaching the agent.
        let card = client
            .get(&format!("/{agent}/.well-known/agent-card.json"))
            .header(ALICE_KEY.0, ALICE_KEY.1)
            .send()
            .await;
        assert_eq!(card.status(), 200, "{}", card.text());
        for who in [BOB_KEY, ALICE_JWT] {
            let attempts = [
                rpc("GetTask", json!({"id": t})),
                rpc("CancelTask", json!({"id": t})),
                rpc("SubscribeToTask", json!({"id": t})),
                rpc(
                    "SendMessage",
                    json!({"message": {"messageId": "m2", "role": "ROLE_USER",
                    "taskId": t, "parts": [{"text": "mine now"}]}}),
                ),
                rpc(
                    "SendMessage",
                    json!({"message": {"messageId": "m3", "role": "ROLE_USER",
                    "contextId": c, "parts": [{"text": "mine now"}]}}),
                ),
                rpc(
                    "CreateTaskPushNotificationConfig",
                    json!({"taskId": t, "url": "https://hooks.example.com/x"}),
                ),
                rpc("ListTaskPushNotificationConfigs", json!({"taskId": t})),
            ];
            for body in attempts {
                let before = fake.calls();
                let res = post(who, body.clone()).send().await;
                // A streaming method's error is an event stream carrying that one event.
                let answer = match res.text().strip_prefix("data: ") {
                    Some(event) => serde_json::from_str(event.trim()).unwrap(),
                    None => res.json(),
                };
                assert_eq!(
                    answer["error"]["code"],
                    -32001,
                    "{who:?} {body}: {}",
                    res.text()
                );
                assert_eq!(fake.calls(), before, "{who:?} {body} reached the agent");
            }
            // HTTP+JSON, with another tenant in the path.
            let res = client
                .get(&format!("/{agent}/globex/tasks/{t}"))
                .header(who.0, who.1)
                .header("a2a-version", "1.0")
                .send()
                .await;
            assert_eq!(res.status(), 404, "{who:?}: {}", res.text());
        }
        // The owner still reads it.
        let res = post(ALICE_KEY, rpc("GetTask", json!({"id": t})))
            .send()
            .await;
        assert_eq!(res.json()["result"]["id"], t.as_str(), "{}", res.text());
        assert!(res.text().contains("ALICE SECRET"));
    }
    // Listing (1.0 agent): each caller sees only its own.
    let list = |who: (&str, &str)| {
        client
            .post("/new")
            .header(who.0, who.1)
            .header("a2a-version", "1.0")
            .json(&rpc("ListTasks", json!({})))
            .send()
    };
    let res = list(BOB_KEY).await;
    assert_eq!(res.json()["result"]["tasks"], json!([]), "{}", res.text());
    let res = list(ALICE_JWT).await;
    assert_eq!(res.json()["result"]["tasks"], json!([]), "{}", res.text());
    let res = list(ALICE_KEY).await;
    assert_eq!(
        res.json()["result"]["tasks"].as_array().map(Vec::len),
        Some(1),
        "{}",
        res.text()
    );
    assert_eq!(
        v1.last_params()["tenant"],
        "acme",
        "the caller's tenant goes upstream"
    );
}
