//! [`Future`] types: the [`ResponseFuture`] of [`Checked`](super::Checked), ready at once with
//! the denial when the check refuses, else the inner call's future, whose listing is filtered.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied};
//! use agent_gateway_policy::check::{CheckLayer, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let layer = CheckLayer::new(|req: &dyn AgentRequest| match req.target() {
//!     Some("ok") => Ok(()),
//!     _ => Err(Denied::forbidden("only `ok`")),
//! });
//! let mut svc = layer.layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!(1))) }));
//! let call = |t: &str| Call::new(Action::ToolCall, json!({})).with_target(t);
//! let allowed: ResponseFuture<_> = svc.ready().await.unwrap().call(call("ok"));
//! assert_eq!(allowed.await.unwrap().into_output(), json!(1));
//! assert!(svc.ready().await.unwrap().call(call("no")).await.is_err());
//! # });
//! ```

pub use crate::decided::ResponseFuture;
