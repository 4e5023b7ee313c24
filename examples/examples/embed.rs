//! agent-gateway embedded in your own axum app: an LLM front and an MCP front behind one policy
//! stack (an API key, your own check, and a quota on tool and model calls), built once.
//!
//! Run it with `cargo run -p agent-gateway-examples --example embed`, then point an OpenAI or
//! Anthropic client at `http://127.0.0.1:3000` and an MCP client at `/mcp`, with the key
//! `sk-embed`. `examples/tests/embed.rs` drives the same `app()` in-process.

use std::num::NonZeroU64;

use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::{Action, AgentRequest, Denied, Secret};
use agent_gateway_llm::LlmFront;
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter as Models};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Limit, QuotaLayer};
use agent_gateway_policy::stack::PolicyStack;
use tower::Layer;

/// Your own rule, written once for every protocol: nothing called `delete*`.
fn no_deletes(req: &dyn AgentRequest) -> Result<(), Denied> {
    match req.target() {
        Some(t) if t.starts_with("delete") => {
            Err(Denied::forbidden("no deletes").with_rule("no-deletes"))
        }
        _ => Ok(()),
    }
}

/// The application: both fronts share one stack, so one quota counts tool and model calls.
pub(crate) fn app() -> axum::Router {
    let keys = ApiKeys::new().with_key(Secret::new("sk-embed".into()), Principal::new("ann"));
    let per_minute = Rate::per_minute(NonZeroU64::new(3).expect("3 is not zero"));
    let stack = PolicyStack::new()
        .with_auth(AuthLayer::new(keys))
        .with_check(no_deletes)
        .with_quota(
            QuotaLayer::new(MemoryStore::new()).with_limit(
                // Only calls count: `initialize`, `ping` and listings pass freely.
                Limit::requests("calls", Subject, per_minute)
                    .with_actions([Action::ToolCall, Action::ModelCall]),
            ),
        );

    // In-process stand-ins; in production `HttpUpstream::connect(..)` and `OpenAiProvider::http(..)`.
    let tools = Direct::new(
        FakeMcpServer::new()
            .with_echo_tool("echo")
            .with_echo_tool("delete_all"),
    );
    let model = FakeProvider::new().with_default(Script::text("Hello from the model."));
    let models = Models::builder()
        .provider(
            "demo",
            OpenAiProvider::new(model, "http://demo.invalid/v1").expect("a valid URL"),
        )
        .tier("small", vec![Deployment::new("demo", "demo-1")])
        .build()
        .expect("a valid model table");

    let mcp_config = McpFrontConfig::new("my-app", "1.0").expect("a valid server name");
    let llm = LlmFront::new(stack.layer(models));
    axum::Router::new()
        .route_service("/mcp", McpFront::new(stack.layer(tools), mcp_config))
        .route_service("/v1/chat/completions", llm.clone())
        .route_service("/v1/messages", llm)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // TCP_NODELAY on accepted sockets: without it, small SSE frames on a kept-alive
    // connection wait ~40 ms for the client's delayed ACK (Nagle's algorithm).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000")
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app()).await
}
