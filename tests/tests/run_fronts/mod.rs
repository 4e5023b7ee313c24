//! The fake upstreams and fronts the run tests (`run_denials`, `run_warnings`) put their run
//! layers in front of: an MCP server `fs` with an echo tool `read_file`, an A2A agent `travel`,
//! and an OpenAI deployment behind the alias `gpt`, each behind its protocol's front.

use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest, A2aResponse};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{BoxError, Secret};
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmFront, LlmRequest, LlmResponse};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;

/// An MCP front over a boxed stack.
pub(crate) type Mcp = McpFront<BoxCloneSyncService<McpRequest, McpResponse, BoxError>>;
/// An A2A front over a boxed stack, with a test client.
pub(crate) type A2a = TestClient<A2aFront<BoxCloneSyncService<A2aRequest, A2aResponse, BoxError>>>;
/// An LLM front over a boxed stack, with a test client.
pub(crate) type Llm = TestClient<LlmFront<BoxCloneSyncService<LlmRequest, LlmResponse, BoxError>>>;

/// The fake server `fs` (echo tool `read_file`), and a federation of it.
pub(crate) fn mcp_fs() -> (FakeMcpServer, Federation) {
    let fs = FakeMcpServer::new().with_echo_tool("read_file");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("fs").unwrap(), fs.clone()))
        .build()
        .unwrap();
    (fs, fed)
}

/// The MCP front over `stack`.
pub(crate) fn mcp_front(stack: BoxCloneSyncService<McpRequest, McpResponse, BoxError>) -> Mcp {
    McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap())
}

/// The fake agent `travel` (one 1.0 instance), and a router over it.
pub(crate) fn a2a_travel() -> (FakeAgent, A2aRouter) {
    let fake = FakeAgent::new("travel");
    let agent = Agent::new("travel")
        .unwrap()
        .instance(
            "i1",
            "http://travel.internal/",
            Version::V1_0,
            fake.connector(),
        )
        .unwrap();
    let router = A2aRouter::new(
        AgentRegistry::builder().agent(agent).build().unwrap(),
        Sealer::new(Secret::new(vec![9; 32])).unwrap(),
    );
    (fake, router)
}

/// A client of the A2A front over `stack`.
pub(crate) fn a2a_client(stack: BoxCloneSyncService<A2aRequest, A2aResponse, BoxError>) -> A2a {
    TestClient::new(A2aFront::new(
        stack,
        A2aFrontConfig::new("https://gw.example.com/a2a").unwrap(),
    ))
}

/// The params of a 1.0 send: a user message `m-{n}` saying "hi".
pub(crate) fn a2a_message(n: u32) -> Value {
    json!({"message": {"messageId": format!("m-{n}"), "role": "ROLE_USER", "parts": [{"text": "hi"}]}})
}

/// The fake provider (answers "ok", one token each way), and a router serving it as `gpt`.
pub(crate) fn llm_gpt() -> (FakeProvider, LlmRouter) {
    let fake = FakeProvider::new().with_default(Script::text("ok").with_usage(1, 1));
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(fake.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias("gpt", Deployment::new("oai", "gpt-up"))
        .build()
        .unwrap();
    (fake, router)
}

/// A client of the LLM front over `stack`.
pub(crate) fn llm_client(stack: BoxCloneSyncService<LlmRequest, LlmResponse, BoxError>) -> Llm {
    TestClient::new(LlmFront::new(stack))
}
