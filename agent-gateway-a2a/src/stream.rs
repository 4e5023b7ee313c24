//! The relay of an upstream SSE stream: each event is decoded as it passes, mapped (version
//! translation, id sealing) and handed on at once; nothing is buffered beyond the one chunk
//! being read. Dropping the stream drops the upstream body, which ends the upstream call.
//!
//! ```
//! use std::task::{Context, Poll, Waker};
//! use agent_gateway_a2a::body::full;
//! use agent_gateway_a2a::stream::EventStream;
//!
//! let upstream = full(concat!(
//!     "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"id\":\"t\"}}}\n\n",
//!     "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,\"message\":\"gone\"}}\n\n",
//! ));
//! let mut events = EventStream::new(upstream, Box::new(Ok));
//! let mut cx = Context::from_waker(Waker::noop());
//! // Allowed: a result is relayed.
//! let Poll::Ready(Some(Ok(first))) = events.poll_next(&mut cx) else { panic!("an event") };
//! assert_eq!(first["task"]["id"], "t");
//! // An upstream error ends the stream with that error.
//! let Poll::Ready(Some(Err(err))) = events.poll_next(&mut cx) else { panic!("an error") };
//! assert_eq!(err.code(), -32001);
//! assert!(matches!(events.poll_next(&mut cx), Poll::Ready(None)));
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::response::{Failure, Outcome};
use agent_gateway_core::sse::{Decoded, Decoder};
use agent_gateway_core::{Usage, UsageReport};
use http_body::Body;
use serde_json::Value;

use crate::body::A2aBody;
use crate::error::A2aError;
use crate::filter::TextStage;
use crate::registry::StreamIdle;
use agent_gateway_core::content::{DataCheck, TextFilter};
use agent_gateway_core::error::cause_ref;

/// Maps each upstream result before it is relayed.
pub type MapEvent = Box<dyn FnMut(Value) -> Result<Value, A2aError> + Send>;

/// The largest single event accepted from an upstream.
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// What the relay sends next: a result, or an upstream comment line (a keep-alive), which the
/// front relays as it came so that a long stream is not cut by a proxy's idle timeout.
#[derive(Debug)]
pub(crate) enum Relayed {
    Result(Value),
    Comment(String),
}

/// A stream of A2A results read from an upstream JSON-RPC SSE body.
pub struct EventStream {
    upstream: A2aBody,
    decoder: Decoder,
    queue: VecDeque<Decoded>,
    map: MapEvent,
    report: Option<UsageReport>,
    /// A guardrail's check of the data parts, run on each result as it passes.
    data: Option<Box<dyn DataCheck>>,
    /// A guardrail's filter over the text parts, and the results it has released.
    text: Option<Box<TextStage>>,
    released: VecDeque<Value>,
    done: bool,
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("queued", &self.queue.len())
            .field("done", &self.done)
            .finish()
    }
}

impl EventStream {
    /// Relays `upstream`, an SSE body of JSON-RPC responses, through `map`.
    pub fn new(upstream: A2aBody, map: MapEvent) -> Self {
        EventStream {
            upstream,
            decoder: Decoder::new().with_max_event_size(MAX_EVENT_BYTES),
            queue: VecDeque::new(),
            map,
            report: None,
            data: None,
            text: None,
            released: VecDeque::new(),
            done: false,
        }
    }

    /// Passes the text parts of every result through `filter` as they are relayed
    /// ([`AgentResponse::filter_text`](agent_gateway_core::AgentResponse::filter_text)).
    pub(crate) fn filter_text(&mut self, filter: Box<dyn TextFilter>) {
        self.text = Some(Box::new(TextStage::new(filter)));
    }

    /// Hands the data parts of every result to `check` as they are relayed
    /// ([`AgentResponse::check_data`](agent_gateway_core::AgentResponse::check_data)); a block
    /// ends the stream with the denial.
    pub(crate) fn check_data(&mut self, check: Box<dyn DataCheck>) {
        self.data = Some(check);
    }

    pub(crate) fn set_report(&mut self, report: UsageReport) {
        self.report = Some(report);
    }

    fn end(&mut self, outcome: Outcome) {
        self.done = true;
        self.queue.clear();
        if outcome != Outcome::Complete {
            self.released.clear();
        }
        if let Some(r) = self.report.take() {
            r.complete(Usage::default(), outcome);
        }
    }

    /// The next result, or the error that ends the stream, or `None` at its end. Upstream
    /// comments are skipped.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Value, A2aError>>> {
        loop {
            return match std::task::ready!(self.poll_relayed(cx)) {
                Some(Ok(Relayed::Comment(_))) => continue,
                Some(Ok(Relayed::Result(v))) => Poll::Ready(Some(Ok(v))),
                Some(Err(e)) => Poll::Ready(Some(Err(e))),
                None => Poll::Ready(None),
            };
        }
    }

    fn fail(&mut self, err: A2aError) -> Poll<Option<Result<Relayed, A2aError>>> {
        // The upstream's side failed (a guardrail's block is the gateway's, not the
        // upstream's: recorded as the stream stopping early).
        let outcome = match err {
            A2aError::Timeout => Outcome::Failed(Failure::Timeout),
            A2aError::Unavailable => Outcome::Failed(Failure::Unavailable),
            A2aError::InvalidAgentResponse | A2aError::Upstream(_) => {
                Outcome::Failed(Failure::Upstream)
            }
            _ => Outcome::Aborted,
        };
        self.end(outcome);
        Poll::Ready(Some(Err(err)))
    }

    /// The next result or upstream comment, in stream order, or the error that ends the
    /// stream, or `None` at its end.
    pub(crate) fn poll_relayed(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Relayed, A2aError>>> {
        loop {
            if let Some(v) = self.released.pop_front() {
                return Poll::Ready(Some(Ok(Relayed::Result(v))));
            }
            if let Some(item) = self.queue.pop_front() {
                let ev = match item {
                    Decoded::Event(ev) => ev,
                    Decoded::Comment(text) => return Poll::Ready(Some(Ok(Relayed::Comment(text)))),
                    _ => continue,
                };
                if ev.data.is_empty() {
                    continue;
                }
                let Ok(mut msg) = serde_json::from_str::<Value>(&ev.data) else {
                    return self.fail(A2aError::InvalidAgentResponse);
                };
                if let Some(err) = msg.get_mut("error").map(Value::take) {
                    let obj = serde_json::from_value::<ErrorObject>(err)
                        .map_err(|_| A2aError::InvalidAgentResponse);
                    return self.fail(obj.map_or_else(|e| e, A2aError::Upstream));
                }
                let Some(result) = msg.get_mut("result").map(Value::take) else {
                    return self.fail(A2aError::InvalidAgentResponse);
                };
                let mapped = (self.map)(result).and_then(|v| match self.data.as_mut() {
                    Some(check) => crate::data::check_result(&v, check.as_mut())
                        .map(|()| v)
                        .map_err(|b| A2aError::Denied(b.to_denied())),
                    None => Ok(v),
                });
                return match (mapped, self.text.as_mut()) {
                    (Ok(v), None) => Poll::Ready(Some(Ok(Relayed::Result(v)))),
                    (Ok(v), Some(text)) => match text.event(v, &mut self.released) {
                        Ok(()) => continue,
                        Err(e) => self.fail(e),
                    },
                    (Err(e), _) => self.fail(e),
                };
            }
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.upstream).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.decoder.finish();
                    if let Some(text) = self.text.as_mut()
                        && let Err(e) = text.finish(&mut self.released)
                    {
                        return self.fail(e);
                    }
                    self.end(Outcome::Complete);
                    continue; // what the filter still held goes out first
                }
                Poll::Ready(Some(Err(err))) => {
                    tracing::warn!(error = %err, "upstream A2A stream failed");
                    let idle = cause_ref::<StreamIdle>(err.as_ref()).is_some();
                    return self.fail(if idle {
                        A2aError::Timeout
                    } else {
                        A2aError::Unavailable
                    });
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        let mut out = Vec::new();
                        if self.decoder.feed_with_comments(&data, &mut out).is_err() {
                            return self.fail(A2aError::InvalidAgentResponse);
                        }
                        self.queue.extend(out);
                    }
                }
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Some(r) = self.report.take() {
            r.complete(Usage::default(), Outcome::Aborted);
        }
    }
}
