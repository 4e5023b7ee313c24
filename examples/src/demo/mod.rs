//! The demo upstreams of the embedded defaults: a small MCP server, LLM provider and A2A
//! agent, in-process, so one command shows the whole gateway working with nothing else
//! running.
//!
//! They are written here, not taken from the crates' test kits: the gateway binary links no
//! `test-util` code, and each demo keeps bounded memory (the MCP server and the provider keep
//! nothing; the agent keeps its last [`a2a::MAX_TASKS`] tasks).
//!
//! ```
//! use agent_gateway_examples::demo::mcp::DemoMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let call = |name: &str| {
//!     let params = json!({"name": name, "arguments": {"x": 1}});
//!     UpstreamRequest::new("tools/call", params.as_object().cloned().unwrap())
//! };
//! // Allowed: the echo tool answers with its arguments.
//! let answer = DemoMcpServer::new().oneshot(call("echo")).await.unwrap();
//! assert_eq!(answer["content"][0]["text"], r#"echo:{"x":1}"#);
//! // Refused: there is no other tool.
//! assert!(DemoMcpServer::new().oneshot(call("rm")).await.is_err());
//! # });
//! ```

pub mod a2a;
pub mod llm;
pub mod mcp;
