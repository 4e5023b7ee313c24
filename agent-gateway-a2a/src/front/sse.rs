//! The SSE body sent to the client: each relayed result framed as one data-only event, a
//! JSON-RPC response for that binding or the bare `StreamResponse` for HTTP+JSON.

use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::Id;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::render::{rest_error, rpc_error};
use crate::body::A2aBody;
use crate::stream::EventStream;

struct SseBody {
    events: Box<EventStream>,
    id: Option<Id>,
    map: Option<fn(Value) -> Value>,
    done: bool,
}

fn frame(value: &Value) -> Frame<Bytes> {
    Frame::data(Bytes::from(format!("data: {value}\n\n")))
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match this.events.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(result))) => {
                let result = match this.map {
                    Some(map) => map(result),
                    None => result,
                };
                Poll::Ready(Some(Ok(frame(&match &this.id {
                    Some(id) => json!({"jsonrpc": "2.0", "id": id.to_value(), "result": result}),
                    None => result,
                }))))
            }
            Poll::Ready(Some(Err(err))) => {
                this.done = true;
                let obj = err.to_error_object();
                Poll::Ready(Some(Ok(frame(&match &this.id {
                    Some(id) => rpc_error(Some(id), &obj),
                    None => rest_error(err.http_status(), &obj),
                }))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// A `text/event-stream` response relaying `events`; `id` is the JSON-RPC request id, or
/// `None` for HTTP+JSON.
/// `map`, if any, rewrites each result first (the 0.3 HTTP+JSON dialect).
pub(crate) fn response(
    events: Box<EventStream>,
    id: Option<Id>,
    map: Option<fn(Value) -> Value>,
) -> Response<A2aBody> {
    let body = SseBody {
        events,
        id,
        map,
        done: false,
    }
    .boxed_unsync();
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}
