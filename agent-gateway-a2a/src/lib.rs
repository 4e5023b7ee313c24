//! The A2A side of agent-gateway: a front for A2A 1.0 and 0.3 on JSON-RPC and HTTP+JSON, a
//! registry of named agents with cached cards, routing with task affinity, and discovery.
//!
//! The stack: [`A2aFront`] decodes once into an
//! [`A2aRequest`] (core's `AgentRequest`), the user's policy layers run on
//! it, and the [`A2aRouter`] sends it to an agent instance.
//!
//! ```
//! use agent_gateway_a2a::front::{A2aFront, A2aFrontConfig};
//! use agent_gateway_a2a::registry::{Agent, AgentRegistry};
//! use agent_gateway_a2a::router::A2aRouter;
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_a2a::testkit::FakeAgent;
//! use agent_gateway_a2a::version::Version;
//! use agent_gateway_core::Secret;
//! use agent_gateway_core::testkit::TestClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let fake = FakeAgent::new("echo");
//! let agents = AgentRegistry::builder()
//!     .agent(Agent::new("echo").unwrap().instance("i1", "http://echo.internal/", Version::V1_0, fake.connector()).unwrap())
//!     .build().unwrap();
//! let router = A2aRouter::new(agents, Sealer::new(Secret::new(vec![7; 32])).unwrap());
//! let client = TestClient::new(A2aFront::new(router, A2aFrontConfig::new("https://gw.example.com/a2a").unwrap()));
//! // Allowed: the card of a registered agent, pointing at the gateway.
//! let card = client.get("/echo/.well-known/agent-card.json").send().await;
//! assert_eq!(card.json()["url"], "https://gw.example.com/a2a/echo");
//! // Refused: an unknown agent.
//! assert_eq!(client.get("/nobody/.well-known/agent-card.json").send().await.status(), 404);
//! # }
//! ```

pub mod body;
pub mod data;
pub mod error;
mod filter;
pub mod front;
pub mod op;
pub mod registry;
pub mod request;
pub mod response;
pub mod router;
pub mod seal;
pub mod stream;
#[cfg(feature = "test-util")]
pub mod testkit;
pub mod translate;
pub mod version;
pub mod webhook;

pub use front::{A2aFront, A2aFrontConfig, A2aFrontLayer};
pub use request::A2aRequest;
pub use response::A2aResponse;
pub use router::A2aRouter;
