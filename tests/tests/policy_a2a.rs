//! The policy layers in front of the A2A front: an allowed message, each denial kind rendered
//! in A2A's JSON-RPC and HTTP+JSON formats with no agent call, and the agent discovery list
//! filtered per caller by the same CEL rules.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest, A2aResponse};
use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_core::{BoxError, Secret};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Limit, QuotaLayer};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

const ALICE: &str = "sk-alice-a2a-000000"; // role travel: may talk to the travel agent
const BOB: &str = "sk-bob-a2a-00000000"; // no role: only the public helpdesk

type Front = A2aFront<BoxCloneSyncService<A2aRequest, A2aResponse, BoxError>>;

fn gateway(travel: &FakeAgent, helpdesk: &FakeAgent) -> Front {
    let mut registry = AgentRegistry::builder();
    for (name, fake, tag) in [
        ("travel", travel, "booking"),
        ("helpdesk", helpdesk, "support"),
    ] {
        let agent = Agent::new(name)
            .unwrap()
            .with_tag(tag)
            .instance(
                "i1",
                &format!("http://{name}.internal/"),
                Version::V1_0,
                fake.connector(),
            )
            .unwrap();
        registry = registry.agent(agent);
    }
    let router = A2aRouter::new(
        registry.build().unwrap(),
        Sealer::new(Secret::new(vec![9; 32])).unwrap(),
    );
    let keys = ApiKeys::new()
        .with_key(
            Secret::new(ALICE.into()),
            Principal::new("alice").with_role("travel"),
        )
        .with_key(Secret::new(BOB.into()), Principal::new("bob"));
    let rules = Rules::new()
        .allow("discovery", r#"action == "discovery" && target == """#)
        .allow("helpdesk", r#"target == "helpdesk""#)
        .allow(
            "travellers",
            r#"target == "travel" && "travel" in caller.roles"#,
        )
        .compile()
        .unwrap();
    let rate = Rate::new(NonZeroU64::new(2).unwrap(), Duration::from_secs(3600));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .layer(AuthorizeLayer::new(rules))
        .layer(
            QuotaLayer::new(Arc::new(MemoryStore::new()))
                .with_limit(Limit::requests("hourly", Subject, rate)),
        )
        .service(router);
    A2aFront::new(
        BoxCloneSyncService::new(stack),
        A2aFrontConfig::new("https://gw.example.com/a2a").unwrap(),
    )
}

fn send(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": {"message": {
        "messageId": format!("m-{text}"), "role": "ROLE_USER", "parts": [{"text": text}]
    }}})
}

async fn jsonrpc(client: &TestClient<Front>, agent: &str, key: Option<&str>) -> TestResponse {
    let mut req = client
        .post(&format!("/{agent}"))
        .header("a2a-version", "1.0")
        .json(&send("hi"));
    if let Some(key) = key {
        req = req.header("authorization", &format!("Bearer {key}"));
    }
    req.send().await
}

async fn rest(client: &TestClient<Front>, agent: &str, key: &str) -> TestResponse {
    client
        .post(&format!("/{agent}/message:send"))
        .header("a2a-version", "1.0")
        .header("authorization", &format!("Bearer {key}"))
        .json(&send("hi")["params"])
        .send()
        .await
}

#[tokio::test]
async fn allowed_and_each_denial_on_both_bindings_without_an_agent_call() {
    let (travel, helpdesk) = (FakeAgent::new("travel"), FakeAgent::new("helpdesk"));
    let client = TestClient::new(gateway(&travel, &helpdesk));

    // Allowed.
    let res = jsonrpc(&client, "travel", Some(ALICE)).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.json()["result"].is_object());
    assert_eq!(travel.calls(), 1);

    // Unauthenticated: 401 on the wire, a JSON-RPC error with the request's id.
    let res = jsonrpc(&client, "travel", None).await;
    assert_eq!(res.status(), 401, "{}", res.text());
    let body = res.json();
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["error"]["data"][0]["reason"], "UNAUTHENTICATED");

    // Forbidden by a CEL rule, on both bindings.
    let res = jsonrpc(&client, "travel", Some(BOB)).await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(
        res.json()["error"]["data"][0]["reason"],
        "PERMISSION_DENIED"
    );
    assert_eq!(
        res.json()["error"]["data"][0]["metadata"]["rule"],
        "default-deny"
    );
    let res = rest(&client, "travel", BOB).await;
    assert_eq!(res.status(), 403, "{}", res.text());
    assert_eq!(
        res.json()["error"]["status"],
        "PERMISSION_DENIED",
        "{}",
        res.text()
    );
    assert_eq!(travel.calls(), 1, "no agent call on denial");

    // Quota: 2 an hour per caller; bob's refused calls above cost nothing (the quota sits
    // inside authorization).
    for _ in 0..2 {
        assert_eq!(jsonrpc(&client, "helpdesk", Some(BOB)).await.status(), 200);
    }
    let res = jsonrpc(&client, "helpdesk", Some(BOB)).await;
    assert_eq!(res.status(), 429, "{}", res.text());
    assert_eq!(res.json()["error"]["data"][0]["reason"], "QUOTA_EXCEEDED");
    let after: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=1800).contains(&after), "retry-after {after}");
    let res = rest(&client, "helpdesk", BOB).await;
    assert_eq!(res.status(), 429, "{}", res.text());
    assert_eq!(helpdesk.calls(), 2, "no agent call on denial");
}

#[tokio::test]
async fn discovery_shows_each_caller_only_the_agents_it_may_call() {
    let (travel, helpdesk) = (FakeAgent::new("travel"), FakeAgent::new("helpdesk"));
    let client = TestClient::new(gateway(&travel, &helpdesk));
    let names = |key: &'static str| {
        let client = client.clone();
        async move {
            let res = client
                .get("/")
                .header("authorization", &format!("Bearer {key}"))
                .send()
                .await;
            assert_eq!(res.status(), 200, "{}", res.text());
            let body = res.json();
            let list = body["agents"].as_array().cloned().unwrap_or_else(|| {
                body.as_array()
                    .cloned()
                    .unwrap_or_else(|| panic!("a list of agents: {body}"))
            });
            let mut names: Vec<String> = list
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names(ALICE).await, ["helpdesk", "travel"]);
    assert_eq!(names(BOB).await, ["helpdesk"]);
    assert_eq!(travel.calls() + helpdesk.calls(), 0);
}

/// Every denial kind a policy layer can return, as A2A renders it on both bindings.
#[tokio::test]
async fn every_denial_kind_on_both_bindings() {
    use agent_gateway_core::Denied;
    let cases: Vec<(Denied, u16, i64, &str)> = vec![
        (
            Denied::unauthenticated("who?"),
            401,
            -32000,
            "UNAUTHENTICATED",
        ),
        (
            Denied::forbidden("no").with_rule("r"),
            403,
            -32000,
            "PERMISSION_DENIED",
        ),
        (
            Denied::quota_exceeded(Duration::from_secs(3)),
            429,
            -32000,
            "QUOTA_EXCEEDED",
        ),
        (
            Denied::budget_exhausted("spent"),
            402,
            -32000,
            "BUDGET_EXHAUSTED",
        ),
        (
            Denied::guardrail_blocked("pii"),
            403,
            -32000,
            "GUARDRAIL_BLOCKED",
        ),
        (Denied::bad_request("bad"), 400, -32602, "BAD_REQUEST"),
        (
            Denied::unavailable("store down"),
            503,
            -32000,
            "UNAVAILABLE",
        ),
    ];
    for (denied, status, code, reason) in cases {
        let refusal = denied.clone();
        let policy = tower::service_fn(move |_req: A2aRequest| {
            let refusal = refusal.clone();
            async move { Err::<A2aResponse, BoxError>(Box::new(refusal)) }
        });
        let front = A2aFront::new(
            BoxCloneSyncService::new(policy),
            A2aFrontConfig::new("https://gw.example.com/a2a").unwrap(),
        );
        let client = TestClient::new(front);
        let res = client
            .post("/echo")
            .header("a2a-version", "1.0")
            .json(&send("hi"))
            .send()
            .await;
        let label = format!("{:?}", denied.kind());
        assert_eq!(res.status().as_u16(), status, "{label}: {}", res.text());
        let body = res.json();
        assert_eq!(body["error"]["code"], code, "{label}: {body}");
        assert_eq!(
            body["error"]["data"][0]["reason"], reason,
            "{label}: {body}"
        );
        if status == 429 {
            assert_eq!(res.header("retry-after"), Some("3"), "{label}");
        }
        let res = client
            .post("/echo/message:send")
            .header("a2a-version", "1.0")
            .json(&send("hi")["params"])
            .send()
            .await;
        assert_eq!(
            res.status().as_u16(),
            status,
            "{label} (HTTP+JSON): {}",
            res.text()
        );
    }
}
