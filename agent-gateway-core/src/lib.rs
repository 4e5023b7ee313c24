//! The core of agent-gateway: the one seam between agent protocols (MCP, A2A, LLM APIs) and
//! the policy layers that govern them, and the plumbing every protocol shares.
//!
//! Core knows no protocol. A protocol front decodes its wire format once, at the edge, into a
//! request type that implements [`AgentRequest`]; every policy layer is written once, generic
//! over that trait. Responses report their [`Usage`] the same way, through [`AgentResponse`],
//! including streamed bodies, which report when they end.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, Call, Caller};
//! use serde_json::json;
//!
//! let call = Call::new(Action::ToolCall, json!({"path": "/data/x"}))
//!     .with_target("fs.read")
//!     .with_caller(Caller::new("alice").with_role("reader"));
//! assert_eq!(call.action(), Action::ToolCall);
//! assert_eq!(call.target(), Some("fs.read"));
//! assert_eq!(call.caller().map(|c| c.subject()), Some("alice"));
//! ```

pub mod action;
pub mod body;
pub mod call;
pub mod caller;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod content;
pub mod denied;
pub mod error;
pub mod host;
pub mod jsonrpc;
pub mod render;
pub mod request;
pub mod response;
pub mod run;
pub mod seal;
pub mod secret;
pub mod server;
pub mod sse;
pub mod store;
#[cfg(feature = "test-util")]
pub mod testkit;
pub mod trace;
pub mod transport;
pub mod upstream;
pub mod usage;

pub use action::Action;
pub use body::GatewayBody;
pub use call::Call;
pub use caller::Caller;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use denied::{Denied, DeniedKind};
pub use request::{AgentRequest, Parts, RequestParts};
pub use response::{AgentResponse, UsageReport};
pub use run::RunId;
pub use secret::Secret;
pub use server::PeerAddr;
pub use usage::{Cost, Usage};

/// A boxed, thread-safe error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
