//! The SSE body sent to the client: each relayed result framed as one data-only event, a
//! JSON-RPC response for that binding or the bare `StreamResponse` for HTTP+JSON. The body
//! itself is core's SSE body; this module only says what each event holds.

use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::body::GatewayBody;
use agent_gateway_core::sse::{Decoded, Event};
use futures_util::Stream;
use http::Response;
use serde_json::{Value, json};

use super::render::rest_error;
use crate::body::A2aBody;
use crate::stream::{EventStream, Relayed};

/// The relayed results as SSE events, and the upstream's comments (keep-alives) as they came;
/// an error is sent as a last event that ends the stream.
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
    type Item = Decoded;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Decoded>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let next = match this.first.take() {
            Some(first) => Poll::Ready(Some(Ok(first))),
            None => match this.events.poll_relayed(cx) {
                Poll::Ready(Some(Ok(Relayed::Comment(text)))) => {
                    return Poll::Ready(Some(Decoded::Comment(text)));
                }
                Poll::Ready(Some(Ok(Relayed::Result(v)))) => Poll::Ready(Some(Ok(v))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
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
        Poll::Ready(Some(Decoded::Event(Event::new(value.to_string()))))
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
    GatewayBody::sse_relay_response(Relay {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use agent_gateway_core::AgentResponse;
    use agent_gateway_core::sse::Decoder;
    use http_body_util::BodyExt;

    use super::*;
    use crate::body::full;
    use crate::response::{A2aResponse, Reply};

    #[tokio::test]
    async fn keep_alive_comments_pass_a_filtered_stream_in_place() {
        let chunk = |text: &str, last: bool| {
            let result = json!({"artifactUpdate": {"taskId": "t", "contextId": "c",
                "artifact": {"artifactId": "a", "parts": [{"text": text}]},
                "append": true, "lastChunk": last}});
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 1, "result": result})
            )
        };
        // "a sec" is held back in part ("sec" may start "secret"): the ping is not held with it.
        let upstream = chunk("a sec", false) + ": ping\n\n" + &chunk("ret", true) + ": ping 2\n\n";
        let mut res = A2aResponse::stream(EventStream::new(full(upstream), Box::new(Ok)));
        res.filter_text(agent_gateway_core::testkit::Mask::boxed())
            .unwrap();
        let Reply::Stream(events) = res.into_reply() else {
            panic!("a stream")
        };
        let body = response(events, None, Some(json!(7)), None).into_body();
        let bytes = body.collect().await.unwrap().to_bytes();
        let mut out = Vec::new();
        Decoder::new().feed_with_comments(&bytes, &mut out).unwrap();
        let seen: Vec<String> = out
            .iter()
            .map(|d| match d {
                Decoded::Comment(c) => format!(":{c}"),
                Decoded::Event(e) => {
                    let v: Value = serde_json::from_str(&e.data).unwrap();
                    assert_eq!(v["id"], 7);
                    v.pointer("/result/artifactUpdate/artifact/parts/0/text")
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned()
                }
                _ => unreachable!("events and comments only"),
            })
            .collect();
        assert_eq!(seen, ["a ", ":ping", "******", ":ping 2"]);
    }
}
