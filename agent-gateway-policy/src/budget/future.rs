//! [`Future`] types: the [`ResponseFuture`] of [`Budget`](super::Budget), which checks every
//! enclosing budget, runs the inner call, and charges its cost when the response ends. It is the
//! [shared admit-call-settle future](crate::admit).
//!
//! ```
//! use std::sync::Arc;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::MemoryStore;
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Cost, Denied, DeniedKind, Usage};
//! use agent_gateway_policy::budget::{BudgetLayer, Level, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let layer: BudgetLayer = BudgetLayer::new(Arc::new(MemoryStore::new()))
//!     .with_limit(Level::Key, Cost::from_nano_usd(1_000));
//! let mut svc = layer.layer(service_fn(|_: Call| async {
//!     Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step()))
//! }));
//! let call = |who: &str| Call::new(Action::ModelCall, json!({})).with_caller(Caller::new(who));
//! // Nothing spent yet: allowed.
//! let fut: ResponseFuture<_> = svc.ready().await.unwrap().call(call("ann"));
//! assert!(fut.await.is_ok());
//! // Without a caller there is no key to charge: refused (fail closed).
//! let anon = Call::new(Action::ModelCall, json!({}));
//! let err = svc.ready().await.unwrap().call(anon).await.unwrap_err();
//! assert_ne!(Denied::find(err.as_ref()).unwrap().kind(), &DeniedKind::BudgetExhausted);
//! # });
//! ```

pub use crate::admit::ResponseFuture;
