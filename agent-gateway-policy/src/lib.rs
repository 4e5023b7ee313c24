//! Policy layers for agent-gateway, written once against core's seam so that each works on
//! MCP, A2A and LLM traffic alike.
//!
//! - [`auth`]: admission credential (API key, JWT, mTLS peer) → [`Caller`](agent_gateway_core::Caller).
//! - `authorize` (feature `cel`, on by default): CEL allow/deny rules over caller, action,
//!   target and arguments, also filtering list results.
//! - [`check`]: your own decision, one closure over `&dyn AgentRequest` (sync or async).
//! - [`quota`]: requests and tokens per window, keyed by any extractor from [`key`], optionally
//!   scoped to actions.
//! - [`budget`]: spend per key, team and tenant, with hierarchical limits.
//! - [`stack`]: every layer of an application built once and applied to every front, as one
//!   linear nesting of steps in which an unconfigured step passes through (see
//!   [The stack's type](stack#the-stacks-type)); [`ServiceBuilderExt`] chains them on a
//!   `ServiceBuilder` instead.
//! - [`audit`]: one tamper-evident, hash-chained record per call, verifiable and queryable by
//!   run.
//! - [`guard`]: guardrails over content; [`guard::pii`] detects, redacts or blocks personal
//!   data and secrets in whole texts and in streams.
//! - [`run`]: run budgets that follow a run across agents (signed remainder header), and
//!   loop detection.
//! - [`telemetry`]: one span per call with the GenAI attributes, continuing the W3C trace.
//! - [`metrics`]: Prometheus metrics (calls, latency, tokens, spend, denials, upstream health,
//!   queues and tables) and the `/metrics` scrape endpoint.
//! - [`admit`]: the admit-call-settle future that quota, budget and run share.
//! - `redis` (feature `redis`): a counter store shared by several gateway replicas.
//!
//! Every layer rejects by returning a [`Denied`](agent_gateway_core::Denied) inside its
//! `BoxError`, without calling the inner service; the protocol front renders it in its own wire
//! format. The order is the user's; a usual one is auth → authorize → quota → budget.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::sync::Arc;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, BoxError, Call, Denied, DeniedKind, Secret};
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
//! use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
//! use agent_gateway_policy::key::Subject;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use http::{HeaderMap, HeaderValue};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let keys = ApiKeys::new().with_key(Secret::new("sk-1".into()), Principal::new("ann").with_role("dev"));
//! let rules = Rules::new().allow("devs-read", r#""dev" in caller.roles && target.startsWith("fs.read")"#);
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
//! let stack = ServiceBuilder::new()
//!     .layer(AuthLayer::new(keys))
//!     .layer(AuthorizeLayer::new(rules.compile().unwrap()))
//!     .layer(QuotaLayer::new(Arc::new(MemoryStore::new()))
//!         .with_limit(Limit::requests("per-caller", Subject, Rate::per_minute(NonZeroU64::MIN))))
//!     .service(upstream.clone());
//! let call = |target: &str| {
//!     let mut headers = HeaderMap::new();
//!     headers.insert("authorization", HeaderValue::from_static("Bearer sk-1"));
//!     Call::new(Action::ToolCall, json!({})).with_target(target).with_headers(headers)
//! };
//! let kind = |e: BoxError| Denied::find(e.as_ref()).unwrap().kind().clone();
//!
//! assert!(stack.clone().oneshot(call("fs.read_file")).await.is_ok());
//! let err = stack.clone().oneshot(call("fs.delete")).await.unwrap_err();
//! assert_eq!(kind(err), DeniedKind::Forbidden);
//! let err = stack.clone().oneshot(call("fs.read_file")).await.unwrap_err();
//! assert!(matches!(kind(err), DeniedKind::QuotaExceeded { .. }));
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```

pub mod admit;
pub mod audit;
pub mod auth;
pub mod authorize;
pub mod budget;
pub mod builder;
pub mod check;
mod decided;
mod glob;
pub mod guard;
mod hex;
pub mod key;
pub mod metrics;
pub mod quota;
#[cfg(feature = "redis")]
pub mod redis;
pub mod run;
pub mod stack;
pub mod streams;
pub mod telemetry;

pub use builder::ServiceBuilderExt;
