//! The SSE body sent to the client: each relayed result framed as one data-only event, a
//! JSON-RPC response for that binding or the bare `StreamResponse` for HTTP+JSON. The body
//! itself is core's SSE body; this module only says what each event holds.

use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::body::GatewayBody;
use agent_gateway_core::sse::Event;
use futures_util::Stream;
use http::Response;
use serde_json::{Value, json};

use super::render::rest_error;
use crate::body::A2aBody;
use crate::stream::EventStream;

/// The relayed results as SSE events; an error is sent as a last event that ends the stream.
struct Relay {
    events: Box<EventStream>,
    /// A result already read from `events`, sent first.
    first: Option<Value>,
    /// The JSON-RPC id to answer with (null for a 1.0 request without one), or `None` for
    /// HTTP+JSON.
    id: Option<Value>,
    map: Option<fn(Value) -> Value>,
    done: bool,
}

impl Stream for Relay {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let next = match this.first.take() {
            Some(first) => Poll::Ready(Some(Ok(first))),
            None => this.events.poll_next(cx),
        };
        let value = match next {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Ok(result))) => {
                let result = match this.map {
                    Some(map) => map(result),
                    None => result,
                };
                match &this.id {
                    Some(id) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    None => result,
                }
            }
            Poll::Ready(Some(Err(err))) => {
                this.done = true;
                let obj = err.to_error_object();
                match &this.id {
                    Some(id) => json!({"jsonrpc": "2.0", "id": id, "error": obj}),
                    None => rest_error(err.http_status(), &obj),
                }
            }
        };
        Poll::Ready(Some(Event::new(value.to_string())))
    }
}

/// A `text/event-stream` response relaying `first`, if any, then `events`; `id` is the
/// JSON-RPC id to answer with, or `None` for HTTP+JSON. `map`, if any, rewrites each result
/// first (the 0.3 HTTP+JSON dialect).
pub(crate) fn response(
    events: Box<EventStream>,
    first: Option<Value>,
    id: Option<Value>,
    map: Option<fn(Value) -> Value>,
) -> Response<A2aBody> {
    GatewayBody::sse_response(Relay {
        events,
        first,
        id,
        map,
        done: false,
    })
}

/// A `text/event-stream` response carrying one event, `value`, then the end of the stream.
pub(crate) fn single(value: &Value) -> Response<A2aBody> {
    GatewayBody::sse_response(futures_util::stream::iter([Event::new(value.to_string())]))
}
