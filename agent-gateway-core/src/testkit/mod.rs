//! The test kit: drive any service in-process, with no ports, and count what reaches upstream.
//!
//! Enabled by the `test-util` feature. Users test their own policy stacks with it, and so do we.
//!
//! ```
//! use agent_gateway_core::testkit::{FakeUpstream, TestClient};
//! use agent_gateway_core::Caller;
//! use http::StatusCode;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // A fake upstream that answers every request with JSON and counts the calls.
//! let upstream = FakeUpstream::json(StatusCode::OK, json!({"ok": true}));
//! let client = TestClient::new(upstream.clone());
//!
//! let res = client.post("/mcp").json(&json!({"x": 1})).caller(Caller::new("alice")).send().await;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.json()["ok"], true);
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```

mod client;
mod fake;
mod mask;
pub mod peers;
pub mod spans;

pub use client::{TestClient, TestRequest, TestResponse};
pub use fake::{CallCounter, FakeUpstream};
pub use mask::Mask;
pub use spans::{SpanCapture, SpanFields};
