//! The request headers that travel with a call to its upstream, and only those: the W3C trace
//! context and the run's signed remainder. Every protocol's connector copies them with
//! [`copy_hop_headers`], so what crosses the hop is decided in one place; the client's
//! credentials and every other header stay at the gateway.
//!
//! ```
//! use agent_gateway_core::run::RUN_BUDGET_HEADER;
//! use agent_gateway_core::upstream::hop::copy_hop_headers;
//! use http::{HeaderMap, HeaderValue};
//!
//! let mut client = HeaderMap::new();
//! client.insert("authorization", HeaderValue::from_static("Bearer sk-client"));
//! client.insert(RUN_BUDGET_HEADER, HeaderValue::from_static("signed"));
//! client.insert("tracestate", HeaderValue::from_static("k=v"));
//! client.insert(
//!     "traceparent",
//!     HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
//! );
//! let mut upstream = HeaderMap::new();
//! copy_hop_headers(&client, &mut upstream);
//! assert_eq!(upstream.len(), 3);
//! assert!(upstream.get("authorization").is_none());
//!
//! // A malformed traceparent is not passed on, nor the tracestate that depends on it.
//! client.insert("traceparent", HeaderValue::from_static("garbage"));
//! let mut upstream = HeaderMap::new();
//! copy_hop_headers(&client, &mut upstream);
//! assert_eq!(upstream.len(), 1);
//! assert_eq!(upstream[RUN_BUDGET_HEADER], "signed");
//! ```

use http::HeaderMap;

use crate::run::RUN_BUDGET_HEADER;
use crate::trace::{TRACEPARENT, TRACESTATE, TraceParent};

/// Copies the hop headers of `client` onto `upstream`: the run budget header (which the run
/// layer verified and rewrote for this hop, so it is never the client's own), and a well-formed
/// `traceparent` with its `tracestate`.
pub fn copy_hop_headers(client: &HeaderMap, upstream: &mut HeaderMap) {
    if let Some(budget) = client.get(RUN_BUDGET_HEADER) {
        upstream.insert(RUN_BUDGET_HEADER, budget.clone());
    }
    let Some(parent) = TraceParent::from_headers(client) else {
        return;
    };
    upstream.insert(TRACEPARENT, parent.to_header_value());
    if let Some(state) = client.get(TRACESTATE) {
        upstream.insert(TRACESTATE, state.clone());
    }
}
