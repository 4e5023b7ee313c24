//! [`Future`] types: the [`ResponseFuture`] of [`Run`](super::Run), which decides on the call
//! against its run's counters, runs the inner call with the signed remainder for the next
//! hop, and charges its tokens and cost when the response ends. It is the
//! [shared admit-call-settle future](crate::admit).
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::MemoryStore;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, RunId};
//! use agent_gateway_policy::run::{RunLayer, RunLimits, future::ResponseFuture};
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let layer = RunLayer::new(MemoryStore::new()).with_limits(RunLimits::new().with_model_calls(1));
//! let mut svc = layer.layer(service_fn(|call: Call| async move {
//!     Ok::<_, BoxError>(Reply::new(json!(call.run_id().map(RunId::as_str))))
//! }));
//! let call = || {
//!     let mut call = Call::new(Action::ModelCall, json!({}));
//!     call.headers_mut().insert("agw-run-id", http::HeaderValue::from_static("r7"));
//!     call
//! };
//! // Allowed: the first model call of run r7, and the run id is on the request.
//! let fut: ResponseFuture<_> = svc.ready().await.unwrap().call(call());
//! assert_eq!(fut.await.unwrap().into_output(), json!("r7"));
//! // Denied: the second.
//! let err = svc.ready().await.unwrap().call(call()).await.unwrap_err();
//! assert_eq!(Denied::find(err.as_ref()).unwrap().rule(), Some("run.model_calls"));
//! # });
//! ```

pub use crate::admit::ResponseFuture;
