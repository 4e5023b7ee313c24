//! agent-gateway's MCP crate: the request and response types of the policy seam.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest};
//! use agent_gateway_mcp::McpRequest;
//! use serde_json::json;
//!
//! let req = McpRequest::from_value(1, "tools/list", json!({}));
//! assert_eq!(req.action(), Action::ListTools);
//! assert_eq!(req.target(), None);
//! ```

pub mod connector;
pub mod era;
pub mod error;
pub mod federation;
pub mod front;
pub mod naming;
pub mod request;
pub mod response;
pub mod session;
#[cfg(feature = "test-util")]
pub mod testkit;
pub mod upstream;

pub use era::Era;
pub use error::McpError;
pub use front::{FrontConfig, McpFront, McpFrontLayer};
pub use request::McpRequest;
pub use response::McpResponse;
