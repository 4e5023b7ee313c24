//! Upstream plumbing shared by every protocol: a registry of named upstreams and their
//! instances, balancing, circuit breaking, retries with a budget, and timeouts.
//!
//! MCP federates many upstream servers, A2A routes to agents with several instances (and pins
//! a task to the instance that owns it), and an LLM model alias spreads over deployments. All
//! three need the same things between their router and their connectors, so they are here,
//! written once:
//!
//! - [`registry`]: the [`Registry`] of named [`Upstream`]s, each with its instances, and each
//!   instance with its breaker and latency estimate ([`LoadEstimate`]). The registry is the
//!   leaf: it knows nothing of how calls are balanced.
//! - [`balance`]: [`Balanced`], a service picking an instance by the power of two choices,
//!   and [`Pinned`], one that sticks to a named instance.
//! - [`breaker`]: a circuit breaker per instance, also usable alone as a layer.
//! - [`retry`]: a tower retry policy bounded by a budget instead of a count; [`retry_after`]:
//!   an upstream's `Retry-After`, parsed safely and clamped.
//! - [`timeout`]: tower's timeout, whose [`Elapsed`](timeout::Elapsed) the breaker counts as a
//!   failure.
//! - [`classify`]: what counts as a failure; [`error`]: the typed refusals.
//! - [`hop`]: the request headers that travel with a call to its upstream (trace context and
//!   the run's signed remainder), copied the same way by every protocol.
//!
//! A typical stack for one upstream, outermost first: retry → balance → (per instance)
//! timeout → connector.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::BoxError;
//! use agent_gateway_core::upstream::breaker::BreakerConfig;
//! use agent_gateway_core::upstream::error::{NoHealthyInstance, find};
//! use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
//! use agent_gateway_core::upstream::retry::{BudgetRetryLayer, TpsBudget};
//! use agent_gateway_core::upstream::timeout::TimeoutLayer;
//! use tower::{Layer, ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), BoxError> {
//! let server = |healthy: bool| {
//!     TimeoutLayer::new(Duration::from_secs(5)).layer(service_fn(move |tool: String| async move {
//!         if healthy { Ok(format!("ran {tool}")) } else { Err(BoxError::from("502 from upstream")) }
//!     }))
//! };
//! let fs = UpstreamName::new("fs")?;
//! let registry = Registry::builder()
//!     .instance(fs.clone(), InstanceId::new("replica-1")?, server(false))
//!     .instance(fs.clone(), InstanceId::new("replica-2")?, server(true))
//!     .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
//!     .build()?;
//! let fs = ServiceBuilder::new()
//!     .layer(BudgetRetryLayer::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2)))
//!     .service(registry.balanced("fs")?);
//!
//! // Allowed: whichever replica is picked, the call succeeds (a failure is retried on the other).
//! for _ in 0..5 {
//!     assert_eq!(fs.clone().oneshot("read".to_owned()).await?, "ran read");
//! }
//! // Denied: with the healthy replica's breaker open too, calls fail at once.
//! let upstream = registry.get("fs").unwrap();
//! upstream.instance("replica-2").unwrap().breaker().try_acquire()?.failed();
//! let err = fs.oneshot("read".to_owned()).await.unwrap_err();
//! assert!(find::<NoHealthyInstance>(&*err).is_some());
//! # Ok(())
//! # }
//! ```

pub mod balance;
pub mod breaker;
pub mod classify;
pub mod error;
pub mod hop;
pub mod registry;
pub mod retry;
pub mod retry_after;
pub mod timeout;

mod load;
mod name;

pub use self::balance::{Balanced, Failover, Picked, Pinned};
pub use self::breaker::{Breaker, BreakerConfig, CircuitBreaker, CircuitBreakerLayer, CircuitOpen};
pub use self::classify::{Classify, ErrorsAsFailures};
pub use self::error::{NoHealthyInstance, UnknownInstance, UnknownUpstream};
pub use self::load::{LoadConfig, LoadEstimate};
pub use self::registry::{
    Instance, InstanceConfig, InstanceDefaults, InstanceId, Registry, Upstream, UpstreamName,
};
pub use self::retry::{BudgetRetry, BudgetRetryLayer};
