//! Per-attempt deadlines: tower's timeout middleware, re-exported so that an upstream stack
//! needs one import.
//!
//! Put the timeout *inside* the circuit breaker and the balancer, around each instance's
//! service: a call that runs out of time then fails with [`Elapsed`], which the default
//! classifier counts as a failure of that instance, so an instance that hangs is ejected like
//! one that errors. A timeout outside a retry layer bounds the whole call, retries included.
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use agent_gateway_core::BoxError;
//! use agent_gateway_core::upstream::breaker::{BreakerConfig, BreakerState, CircuitBreakerLayer};
//! use agent_gateway_core::upstream::error::find;
//! use agent_gateway_core::upstream::timeout::{Elapsed, TimeoutLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let breaker = CircuitBreakerLayer::new(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(5)));
//! let upstream = ServiceBuilder::new()
//!     .layer(breaker.clone())
//!     .layer(TimeoutLayer::new(Duration::from_secs(1)))
//!     .service(service_fn(|work: Duration| async move {
//!         tokio::time::sleep(work).await; // paused time: no real waiting
//!         Ok::<_, BoxError>("done")
//!     }));
//!
//! // Allowed: in time.
//! assert_eq!(upstream.clone().oneshot(Duration::from_millis(10)).await.unwrap(), "done");
//! // Failed: too slow. The timeout is the error, and the breaker counted it.
//! let err = upstream.oneshot(Duration::from_secs(3)).await.unwrap_err();
//! assert!(find::<Elapsed>(&*err).is_some());
//! assert_eq!(breaker.breaker().state(), BreakerState::Open);
//! # }
//! ```

pub use tower::timeout::error::Elapsed;
pub use tower::timeout::{Timeout, TimeoutLayer};
