//! The MCP test kit (feature `test-util`): an in-process fake MCP server and an in-process MCP
//! client, so a flow through a policy stack is tested with no ports.
//!
//! ```
//! use agent_gateway_mcp::front::McpFrontConfig;
//! use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let server = FakeMcpServer::new().with_echo_tool("echo");
//! let client = McpClient::modern(server.http(McpFrontConfig::new("fake", "1").unwrap()));
//! let tools = client.list_tools().await.unwrap();
//! assert_eq!(tools[0]["name"], "echo");
//! let out = client.call_tool("echo", json!({"x": 1})).await.unwrap();
//! assert_eq!(out["content"][0]["text"], r#"echo:{"x":1}"#);
//!
//! // An unknown tool is the server's -32602, and the same client still works.
//! let err = client.call_tool("nope", json!({})).await.unwrap_err();
//! assert_eq!(err.code(), Some(-32602));
//! assert_eq!(server.calls_of("tools/call"), 2);
//! # });
//! ```

mod client;
mod server;
mod sse;

pub use client::{ClientError, Listening, McpClient, RawResponse};
pub use server::FakeMcpServer;
pub use sse::LegacySseServer;
