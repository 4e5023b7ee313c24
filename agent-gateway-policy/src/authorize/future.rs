//! [`Future`] types: the [`ResponseFuture`] of [`Authorize`](super::Authorize), ready at once
//! with the denial when the policy refuses, else the inner call's future.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Denied};
//! use agent_gateway_policy::authorize::{Authorize, Rules, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let policy = Rules::new().allow_targets("reads", ["fs.read_*"]).compile().unwrap();
//! let mut svc = Authorize::new(
//!     service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::new(json!("ok"))) }),
//!     policy,
//! );
//! let call = |target: &str| {
//!     Call::new(Action::ToolCall, json!({})).with_target(target).with_caller(Caller::new("bob"))
//! };
//!
//! let allowed: ResponseFuture<_> = svc.ready().await.unwrap().call(call("fs.read_file"));
//! assert_eq!(allowed.await.unwrap().into_output(), json!("ok"));
//!
//! let denied = svc.ready().await.unwrap().call(call("fs.write_file")).await.unwrap_err();
//! assert_eq!(Denied::find(denied.as_ref()).and_then(Denied::rule), Some("default-deny"));
//! # });
//! ```

pub use crate::decided::ResponseFuture;
