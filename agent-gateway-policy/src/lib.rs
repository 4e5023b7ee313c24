//! Policy layers for agent-gateway, written once against core's seam so that each works on
//! MCP, A2A and LLM traffic alike.
//!
//! - [`auth`]: admission credential (API key, JWT, mTLS peer) → [`Caller`](agent_gateway_core::Caller).
//! - [`authorize`]: allow/deny rules over caller, action, target and arguments, also filtering
//!   list results.
//! - [`quota`]: requests and tokens per window, keyed by any extractor.
//! - [`budget`]: spend per key, team and tenant, with hierarchical limits.
//!
//! Every layer rejects by returning a [`Denied`](agent_gateway_core::Denied) inside its
//! `BoxError`; the protocol front renders it in its own wire format.

pub mod auth;
pub mod authorize;
pub mod budget;
pub mod key;
pub mod quota;
#[cfg(feature = "redis")]
pub mod redis;
