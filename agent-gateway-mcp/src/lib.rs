//! agent-gateway's MCP crate: a front serving both MCP eras, federation of many upstream
//! servers behind it, and the connectors that reach them.
//!
//! The crate follows the call. A stack is the [`McpFront`] (`front/`: HTTP in, decode once
//! into an [`McpRequest`] with a typed [`McpMethod`], render errors once), which keeps legacy
//! sessions' live tables in a [`SessionStore`](session::SessionStore) (`session/`); then the
//! user's policy layers over [`McpRequest`]/[`McpResponse`] (core's seam); then a router
//! (`router/`: [`Direct`](router::Direct) for one upstream, the
//! [`Federation`](router::federation::Federation) for many, with input requests translated
//! between the eras, see [`router::translate`]); then one connector per upstream
//! (`connector/`): streamable HTTP ([`HttpUpstream`](connector::HttpUpstream)), the legacy
//! HTTP+SSE transport ([`SseUpstream`](connector::SseUpstream)) or, with the `stdio` feature, a
//! child process (`connector::stdio::StdioUpstream`). An upstream's progress and log
//! notifications reach a client that accepts SSE event by event (see [`notify`]), and its
//! change notifications (list changes, resource updates) reach clients that listen, in both
//! eras (see [`listen`]).
//!
//! ```
//! use agent_gateway_mcp::router::federation::{Federation, Member};
//! use agent_gateway_mcp::naming::ServerName;
//! use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
//! use agent_gateway_mcp::{McpFrontConfig, McpFront};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let github = FakeMcpServer::new().with_echo_tool("create-issue");
//! let fed = Federation::builder()
//!     .member(Member::new(ServerName::new("git-hub").unwrap(), github.clone()))
//!     .build()
//!     .unwrap();
//! let gateway = McpFront::new(fed, McpFrontConfig::new("gateway", "1.0").unwrap());
//!
//! for client in [McpClient::modern(gateway.clone()), McpClient::legacy(gateway.clone())] {
//!     let tools = client.list_tools().await.unwrap();
//!     assert_eq!(tools[0]["name"], "git-hub__create-issue");
//!     client.call_tool("git-hub__create-issue", json!({"title": "t"})).await.unwrap();
//!     // A name no upstream owns: -32602, and no upstream call.
//!     assert_eq!(client.call_tool("gitlab__create-issue", json!({})).await.unwrap_err().code(), Some(-32602));
//! }
//! assert_eq!(github.calls_of("tools/call"), 2);
//! # });
//! ```

pub mod connector;
pub mod era;
pub mod error;
pub mod front;
pub mod listen;
pub mod method;
pub mod naming;
pub mod notify;
pub mod request;
pub mod response;
pub mod router;
pub mod session;
#[cfg(feature = "test-util")]
pub mod testkit;
pub mod upstream;
pub mod uri;

pub use era::Era;
pub use error::McpError;
pub use front::{McpFront, McpFrontConfig, McpFrontLayer};
pub use method::McpMethod;
pub use request::McpRequest;
pub use response::McpResponse;
