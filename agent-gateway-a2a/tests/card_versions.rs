//! Cards as the agents and their clients need them (#13 items 4 and 6), in-process: a 1.0-only
//! card validates against the 1.0 schema (per agent or front-wide) while the default dual card
//! keeps the 0.3 fields, a 0.3 agent's card made 1.0 only keeps its meaning, and the default
//! agent's card is served at the root, where 0.3 clients look for it.

#[path = "support/proto_schema.rs"]
mod proto_schema;
mod support;

use agent_gateway_a2a::front::CardVersions;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::testkit::TestClient;
use serde_json::{Value, json};

/// The 1.0 `AgentCard` schema, made from the normative proto.
fn card_schema() -> jsonschema::Validator {
    let proto = include_str!("data/a2a-1.0.1.proto");
    jsonschema::validator_for(&proto_schema::schema(proto, "AgentCard")).expect("a valid schema")
}

#[tokio::test]
async fn a_v1_only_card_validates_against_the_1_0_schema_and_the_dual_card_does_not() {
    let schema = card_schema();
    let (a, b) = (FakeAgent::new("strict"), FakeAgent::new("dual").v03());
    let registry = support::registry(&[
        ("strict", &[("s1", &a, Version::V1_0)]),
        ("dual", &[("d1", &b, Version::V0_3)]),
    ]);
    // Per agent: `strict` is 1.0 only, the rest keep the default dual card.
    let config = support::config().with_agent_card_versions("strict", CardVersions::V1Only);
    let client = TestClient::new(support::front_with(registry.clone(), config));
    let strict = client
        .get("/strict/.well-known/agent-card.json")
        .send()
        .await
        .json();
    let errors: Vec<String> = schema.iter_errors(&strict).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{strict:#}");
    let urls: Vec<(&Value, &Value)> = strict["supportedInterfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .map(|i| (&i["protocolBinding"], &i["protocolVersion"]))
        .collect();
    assert_eq!(urls.len(), 2);
    assert!(urls.iter().all(|(_, v)| *v == "1.0"), "{urls:?}");
    assert_eq!(
        strict["supportedInterfaces"][0]["url"],
        format!("{}/strict", support::PUBLIC)
    );
    // The dual card carries the 0.3 fields 0.3 clients need, which the 1.0 schema refuses.
    let dual = client
        .get("/dual/.well-known/agent-card.json")
        .send()
        .await
        .json();
    assert_eq!(dual["url"], format!("{}/dual", support::PUBLIC));
    assert_eq!(dual["protocolVersion"], "0.3.0");
    assert!(!schema.is_valid(&dual), "the dual card is not strict 1.0");
    // Front-wide: every card 1.0 only, but where an agent says otherwise.
    let config = support::config()
        .with_card_versions(CardVersions::V1Only)
        .with_agent_card_versions("dual", CardVersions::Dual);
    let client = TestClient::new(support::front_with(registry, config));
    let strict = client
        .get("/strict/.well-known/agent-card.json")
        .send()
        .await
        .json();
    assert!(schema.is_valid(&strict), "{strict:#}");
    let dual = client
        .get("/dual/.well-known/agent-card.json")
        .send()
        .await
        .json();
    assert!(!schema.is_valid(&dual));
}

#[tokio::test]
async fn a_0_3_card_made_1_0_only_keeps_its_meaning() {
    // A 0.3 agent's own card, with 0.3-only members everywhere the 1.0 schema forbids them.
    let card = json!({"name": "old", "description": "d", "version": "1", "protocolVersion": "0.3.0",
        "url": "http://old.internal/", "preferredTransport": "JSONRPC",
        "supportsAuthenticatedExtendedCard": true,
        "capabilities": {"streaming": true, "stateTransitionHistory": true},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "provider": {"organization": "o", "url": "https://o.example", "kind": "x"},
        "skills": [{"id": "s", "name": "S", "description": "d", "tags": ["t"], "kind": "x"}]});
    let fake = FakeAgent::new("old").v03().with_card(card);
    let registry = support::registry(&[("old", &[("o1", &fake, Version::V0_3)])]);
    let config = support::config().with_card_versions(CardVersions::V1Only);
    let client = TestClient::new(support::front_with(registry, config));
    let strict = client
        .get("/old/.well-known/agent-card.json")
        .send()
        .await
        .json();
    let schema = card_schema();
    let errors: Vec<String> = schema.iter_errors(&strict).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{strict:#}");
    assert_eq!(strict["capabilities"]["extendedAgentCard"], true);
    assert_eq!(strict["capabilities"]["streaming"], true);
    assert_eq!(strict["skills"][0]["id"], "s");
}

#[tokio::test]
async fn the_default_agent_card_is_served_at_the_root() {
    let fake = FakeAgent::new("echo");
    let registry = support::registry(&[("echo", &[("i1", &fake, Version::V1_0)])]);
    let client = TestClient::new(support::front_with(
        registry.clone(),
        support::config().with_default_agent("echo"),
    ));
    for path in ["/.well-known/agent-card.json", "/.well-known/agent.json"] {
        let res = client.get(path).send().await;
        assert_eq!(res.status(), 200, "{path}");
        let card = res.json();
        assert_eq!(card["name"], "echo");
        assert_eq!(card["url"], format!("{}/echo", support::PUBLIC), "{path}");
    }
    // Under the agent's own path, unchanged.
    let card = client
        .get("/echo/.well-known/agent-card.json")
        .send()
        .await
        .json();
    assert_eq!(card["url"], format!("{}/echo", support::PUBLIC));
    // Without a default agent there is no root card.
    let client = TestClient::new(support::front(registry));
    assert_eq!(
        client
            .get("/.well-known/agent-card.json")
            .send()
            .await
            .status(),
        404
    );
}
