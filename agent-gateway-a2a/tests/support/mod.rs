//! Shared test setup: a front over a router over fake agents.
#![allow(dead_code, unreachable_pub)]

use agent_gateway_a2a::front::{A2aFront, A2aFrontConfig};
use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_core::Secret;
use agent_gateway_core::testkit::TestClient;

pub const PUBLIC: &str = "https://gw.example.com/a2a";
pub const KEY: [u8; 32] = [42; 32];

pub fn sealer() -> Sealer {
    Sealer::new(Secret::new(KEY.to_vec())).expect("a 32-byte key")
}

/// One instance: its id, its fake and the version it speaks.
pub type InstanceDef<'a> = (&'a str, &'a FakeAgent, Version);

/// A registry with one agent per entry, each with its instances (id, fake, version).
pub fn registry(agents: &[(&str, &[InstanceDef<'_>])]) -> AgentRegistry {
    let mut builder = AgentRegistry::builder();
    for (name, instances) in agents {
        let mut agent = Agent::new(name)
            .expect("a valid name")
            .with_tag("demo")
            .with_description(format!("{name} agent"));
        for (id, fake, version) in instances.iter() {
            agent = agent
                .instance(
                    id,
                    &format!("http://{id}.internal:9000/"),
                    *version,
                    fake.connector(),
                )
                .expect("a valid instance");
        }
        builder = builder.agent(agent);
    }
    builder.build().expect("a valid registry")
}

pub fn config() -> A2aFrontConfig {
    A2aFrontConfig::new(PUBLIC)
        .expect("a valid public URL")
        .with_max_body(4096)
        .with_webhooks(
            WebhookAllowList::new()
                .allow("https://hooks.example.com/")
                .expect("a valid prefix"),
        )
}

pub fn front(registry: AgentRegistry) -> A2aFront<A2aRouter> {
    front_with(registry, config())
}

pub fn front_with(registry: AgentRegistry, config: A2aFrontConfig) -> A2aFront<A2aRouter> {
    let router = A2aRouter::new(registry, sealer()).with_webhooks(config.webhooks().clone());
    A2aFront::new(router, config)
}

/// A client of a front over one 1.0 agent `echo` with one instance.
pub fn single(fake: &FakeAgent) -> TestClient<A2aFront<A2aRouter>> {
    TestClient::new(front(registry(&[("echo", &[("i1", fake, Version::V1_0)])])))
}
