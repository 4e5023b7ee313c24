//! Agent cards rewritten to the gateway and cached; discovery search and per-caller filtering.

mod support;

use std::time::Duration;

use agent_gateway_a2a::response::A2aResponse;
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentResponse, BoxError};
use tower::ServiceBuilder;

#[tokio::test(start_paused = true)]
async fn card_points_at_the_gateway_and_carries_cache_headers() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    let res = client.get("/echo/.well-known/agent-card.json").send().await;
    assert_eq!(res.status(), 200);
    let card = res.json();
    let url = format!("{}/echo", support::PUBLIC);
    assert_eq!(card["name"], "echo");
    assert_eq!(card["url"], url.as_str());
    assert_eq!(card["preferredTransport"], "JSONRPC");
    assert_eq!(card["supportedInterfaces"][0]["url"], url.as_str());
    assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(
        card["supportedInterfaces"][1]["protocolBinding"],
        "HTTP+JSON"
    );
    assert_eq!(card["additionalInterfaces"][1]["transport"], "HTTP+JSON");
    assert!(
        card.get("signatures").is_none(),
        "stale signatures are dropped"
    );
    assert!(
        !res.text().contains("internal"),
        "no upstream URL leaks: {}",
        res.text()
    );
    assert_eq!(card["skills"][0]["id"], "echo");
    assert_eq!(res.header("cache-control"), Some("public, max-age=300"));
    let etag = res.header("etag").expect("an ETag").to_owned();
    assert!(
        res.header("last-modified")
            .is_some_and(|v| v.ends_with("GMT"))
    );

    let legacy = client.get("/echo/.well-known/agent.json").send().await;
    assert_eq!(legacy.json(), card);
    let not_modified = client
        .get("/echo/.well-known/agent-card.json")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    let other = client
        .get("/echo/.well-known/agent-card.json")
        .header("if-none-match", "\"other\"")
        .send()
        .await;
    assert_eq!(other.status(), 200);
}

#[tokio::test(start_paused = true)]
async fn card_is_cached_for_max_age_then_revalidated() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    for _ in 0..3 {
        assert_eq!(
            client
                .get("/echo/.well-known/agent-card.json")
                .send()
                .await
                .status(),
            200
        );
    }
    assert_eq!(fake.calls(), 1, "the agent's max-age=60 is honoured");
    tokio::time::advance(Duration::from_secs(61)).await;
    // Revalidated with If-None-Match: the fake answers 304, and the cached card is served.
    let res = client.get("/echo/.well-known/agent-card.json").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json()["name"], "echo");
    assert_eq!(fake.calls(), 2);
    assert_eq!(
        client
            .get("/echo/.well-known/agent-card.json")
            .send()
            .await
            .status(),
        200
    );
    assert_eq!(fake.calls(), 2, "fresh again after the 304");
}

#[tokio::test(start_paused = true)]
async fn unreachable_card_is_503_and_unknown_agent_is_404() {
    let fake = FakeAgent::new("echo");
    fake.set_down(true);
    let client = support::single(&fake);
    let res = client.get("/echo/.well-known/agent-card.json").send().await;
    assert_eq!(res.status(), 503);
    let body = res.json();
    assert_eq!(body["error"]["code"], 503, "{body}");
    assert_eq!(body["error"]["status"], "UNAVAILABLE", "{body}");
    // With the agent back, a card for an agent that is not registered reaches no connector.
    fake.set_down(false);
    let before = fake.calls();
    let res = client
        .get("/ghost/.well-known/agent-card.json")
        .send()
        .await;
    assert_eq!(res.status(), 404);
    let body = res.json();
    assert_eq!(body["error"]["code"], 404, "{body}");
    assert_eq!(body["error"]["status"], "NOT_FOUND", "{body}");
    assert_eq!(
        fake.calls(),
        before,
        "no connector call for an unknown agent"
    );
}

fn discovery_client(
    echo: &FakeAgent,
    payroll: &FakeAgent,
) -> TestClient<
    A2aFront<
        impl tower::Service<A2aRequest, Response = A2aResponse, Error = BoxError, Future: Send>
        + Clone
        + Send
        + 'static,
    >,
> {
    let registry = support::registry(&[
        ("echo", &[("e1", echo, Version::V1_0)]),
        ("payroll", &[("p1", payroll, Version::V0_3)]),
    ]);
    // A policy that hides `payroll` from listings, as an authorize layer would per caller.
    let stack = ServiceBuilder::new()
        .map_response(|mut res: A2aResponse| {
            res.retain_items(&mut |item| item.name != "payroll");
            res
        })
        .service(A2aRouter::new(registry, support::sealer()));
    TestClient::new(A2aFront::new(
        stack,
        A2aFrontConfig::new(support::PUBLIC).expect("a valid URL"),
    ))
}

#[tokio::test(start_paused = true)]
async fn discovery_searches_and_filters_through_retain_items() {
    let (echo, payroll) = (FakeAgent::new("echo"), FakeAgent::new("payroll").v03());
    let unfiltered = TestClient::new(support::front(support::registry(&[
        ("echo", &[("e1", &echo, Version::V1_0)]),
        ("payroll", &[("p1", &payroll, Version::V0_3)]),
    ])));
    let names = |v: serde_json::Value| -> Vec<String> {
        v["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .map(|a| a["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        names(unfiltered.get("/").send().await.json()),
        ["echo", "payroll"]
    );
    assert_eq!(
        names(unfiltered.get("/?name=PAY").send().await.json()),
        ["payroll"]
    );
    assert_eq!(
        names(unfiltered.get("/?tag=demo").send().await.json()),
        ["echo", "payroll"]
    );
    assert!(names(unfiltered.get("/?tag=nope").send().await.json()).is_empty());
    assert_eq!(
        echo.calls() + payroll.calls(),
        0,
        "no card fetched without a skill search"
    );
    let by_skill = unfiltered.get("/?skill=Echo").send().await.json();
    assert_eq!(names(by_skill.clone()), ["echo", "payroll"]);
    assert_eq!(by_skill["agents"][0]["skills"][0]["id"], "echo");
    assert_eq!(
        by_skill["agents"][0]["card"],
        format!("{}/echo/.well-known/agent-card.json", support::PUBLIC)
    );
    assert!(names(unfiltered.get("/?skill=translate").send().await.json()).is_empty());

    let filtered = discovery_client(&echo, &payroll);
    assert_eq!(names(filtered.get("/").send().await.json()), ["echo"]);
}

#[tokio::test(start_paused = true)]
async fn card_advertises_the_gateway_security() {
    let fake = FakeAgent::new("echo");
    let schemes = serde_json::json!({"gateway": {"httpAuthSecurityScheme": {"scheme": "Bearer"}}});
    let requirements = serde_json::json!([{"schemes": {"gateway": {"list": []}}}]);
    let front = support::front_with(
        support::registry(&[("echo", &[("e1", &fake, Version::V1_0)])]),
        support::config().with_card_security(schemes.clone(), requirements.clone()),
    );
    let card = TestClient::new(front)
        .get("/echo/.well-known/agent-card.json")
        .send()
        .await
        .json();
    assert_eq!(card["securitySchemes"], schemes);
    assert_eq!(card["securityRequirements"], requirements);
    assert!(!card.to_string().contains("x-agent-key"));
}
