//! [`Future`] types: the [`ResponseFuture`] of [`Quota`](super::Quota), which asks the store
//! first and calls the inner service only when every limit admits the request. It is the
//! [shared admit-call-settle future](crate::admit), settling token estimates on the usage.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::sync::Arc;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::{MemoryStore, Rate};
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Denied};
//! use agent_gateway_policy::key::CallerId;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let layer = QuotaLayer::new(Arc::new(MemoryStore::new()))
//!     .with_limit(Limit::requests("one", CallerId, Rate::per_hour(NonZeroU64::MIN)));
//! let mut svc = layer.layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("ok"))) }));
//! let call = || Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("ann"));
//! let first: ResponseFuture<_> = svc.ready().await.unwrap().call(call());
//! assert!(first.await.is_ok());
//! let second = svc.ready().await.unwrap().call(call()).await.unwrap_err();
//! assert!(Denied::find(second.as_ref()).unwrap().retry_after().is_some());
//! # });
//! ```

pub use crate::admit::ResponseFuture;
