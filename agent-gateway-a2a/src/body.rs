//! The response body every service of this crate answers with: core's
//! [`GatewayBody`].
//!
//! ```
//! use agent_gateway_a2a::body::{A2aBody, full};
//! use http_body::Body;
//!
//! let body: A2aBody = full("{\"ok\":true}");
//! // A buffered body knows its exact size and is not a stream.
//! assert_eq!(body.size_hint().exact(), Some(11));
//! let empty = full("");
//! assert!(empty.is_end_stream());
//! ```

use agent_gateway_core::body::GatewayBody;
use bytes::Bytes;

/// A boxed HTTP body: a buffered JSON reply or a relayed event stream.
pub type A2aBody = GatewayBody;

/// A body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> A2aBody {
    GatewayBody::full(bytes)
}
