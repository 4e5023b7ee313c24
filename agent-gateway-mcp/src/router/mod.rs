//! Routers: the inner services behind the front that decide which upstream serves a request.
//!
//! [`Direct`] serves one upstream as it is; [`federation`] serves many behind reversible
//! names; [`translate`] carries input requests across the protocol eras for both. A router
//! answers an admission-only request ([`McpRequest::is_admission_only`](crate::McpRequest::is_admission_only))
//! with an empty result and calls no upstream.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::router::Direct;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::McpRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let server = tower::service_fn(|_req: UpstreamRequest| async move {
//!     Err::<Map<String, serde_json::Value>, _>(BoxError::from("the upstream is never asked"))
//! });
//! // `ping` is answered by the front: the router only admits it.
//! let ping = McpRequest::from_value(1, "ping", json!({})).with_admission_only(true);
//! let res = Direct::new(server).oneshot(ping).await.unwrap();
//! assert!(res.result().is_empty());
//! # });
//! ```

mod direct;
pub mod federation;
pub mod translate;

pub use direct::Direct;
