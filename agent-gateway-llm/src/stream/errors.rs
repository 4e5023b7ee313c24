use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use serde_json::json;

use agent_gateway_core::BoxError;
use agent_gateway_core::content::Blocked;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::sse::{Decoder, Event};

use super::cut::{EventCut, EventTooLarge};
use super::transform::{data_line, named_event};
use crate::error::UpstreamTimeout;
use crate::usage::Wire;

/// The error a stream ends with after upstream sent an error event of its own: the event has
/// reached the client already, and the stream is reported as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("upstream ended the stream with an error event")]
#[non_exhaustive]
pub struct UpstreamErrorEvent;

pin_project! {
    /// Relays a stream unchanged, and turns an error event sent by upstream (Anthropic's
    /// `event: error`, OpenAI's `data: {"error": …}`, Responses' `error` and
    /// `response.failed`) into the end of the stream with [`UpstreamErrorEvent`], once the
    /// event itself has been relayed.
    ///
    /// It sits under the usage meter, so that a stream upstream aborted this way is reported
    /// as [`Outcome::Failed`](agent_gateway_core::response::Outcome::Failed). It decodes on the
    /// side and never holds bytes back.
    #[derive(Debug)]
    pub struct AbortOnErrorEvent<B> {
        #[pin]
        inner: B,
        decoder: Decoder,
        events: Vec<Event>,
        state: State,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Relaying,
    /// An error event went out: fail at the next poll.
    Failing,
    Done,
}

impl<B> AbortOnErrorEvent<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        AbortOnErrorEvent {
            inner,
            decoder: Decoder::new(),
            events: Vec::new(),
            state: State::Relaying,
        }
    }
}

fn is_error_event(event: &Event) -> bool {
    if matches!(event.event_type(), "error" | "response.failed") {
        return true;
    }
    let data = event.data.trim_start();
    data.starts_with("{\"error\"")
        || (data.contains("\"error\"")
            && serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| {
                v.get("error").is_some_and(|e| !e.is_null()) && v.get("choices").is_none()
            }))
}

/// Feeds `data` to `decoder` a line at a time, and returns the offset just past the line that
/// completed an error event, if one did: what follows it in the chunk is not relayed, so the
/// output is the same however upstream cut its stream (a fuzz finding: the rest of the chunk
/// used to go out after the error event). The cut is at the line break that dispatched the
/// event; of a CRLF that is the CR, and the client's decoder ignores the missing LF.
fn error_event_end(decoder: &mut Decoder, events: &mut Vec<Event>, data: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(data.len(), |i| start + i + 1);
        decoder.feed(&data[start..end], events).ok()?;
        if events.drain(..).any(|e| is_error_event(&e)) {
            return Some(end);
        }
        start = end;
    }
    None
}

impl<B> Body for AbortOnErrorEvent<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.state {
            State::Done => return Poll::Ready(None),
            State::Failing => {
                *this.state = State::Done;
                return Poll::Ready(Some(Err(UpstreamErrorEvent.into())));
            }
            State::Relaying => {}
        }
        let polled = std::task::ready!(this.inner.poll_frame(cx));
        match &polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref()
                    && let Some(end) = error_event_end(this.decoder, this.events, data)
                {
                    // The stream ends with the error event, wherever the chunk was cut.
                    *this.state = State::Failing;
                    return Poll::Ready(Some(Ok(Frame::data(data.slice(..end)))));
                }
            }
            Some(Err(_)) | None => *this.state = State::Done,
        }
        Poll::Ready(polled.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }
}

pin_project! {
    /// Relays a stream event by event, and when upstream fails mid-stream (a reset, a
    /// timeout) ends it with the error event of its own dialect rather than a broken
    /// connection, so that the client's SDK raises a proper API error:
    ///
    /// - Chat Completions: `data: {"error": {"message", "type": "server_error", …}}`;
    /// - Anthropic Messages: `event: error` with `{"type": "error", "error": {"type":
    ///   "api_error", …}}`;
    /// - Responses: `event: error` with `{"type": "error", "code": "server_error", …}`.
    ///
    /// To place the error event between events, bytes wait until their event's blank line,
    /// never longer; an unfinished event is dropped when upstream fails. An event over the SSE
    /// decoder's limit (1 MiB) is not buffered further: the stream ends with the error event. The message leaks no
    /// upstream detail. After an [`UpstreamErrorEvent`] the stream just ends: upstream's own
    /// error event went out already.
    #[derive(Debug)]
    pub struct RenderStreamError<B> {
        #[pin]
        inner: B,
        wire: Wire,
        cut: EventCut,
        done: bool,
    }
}

impl<B> RenderStreamError<B> {
    /// Wraps `inner`, a stream in `wire` format.
    pub fn new(inner: B, wire: Wire) -> Self {
        RenderStreamError {
            inner,
            wire,
            cut: EventCut::new(),
            done: false,
        }
    }

    #[cfg(test)]
    pub(super) fn with_max_event(inner: B, wire: Wire, max: usize) -> Self {
        RenderStreamError {
            inner,
            wire,
            cut: EventCut::with_max(max),
            done: false,
        }
    }
}

/// Appends the error event a guardrail's block ends a stream of `wire` with: code
/// `guardrail_blocked` (Anthropic: `permission_error`), the message naming the rule and, when
/// the rule says why, the reason, as the non-streamed denial does.
pub(crate) fn blocked_event(wire: Wire, blocked: &Blocked, out: &mut BytesMut) {
    let denied = blocked.to_denied();
    let message = denied.message();
    match wire {
        Wire::ChatCompletions => data_line(
            out,
            &json!({"error": {"message": message, "type": "invalid_request_error",
                             "param": null, "code": "guardrail_blocked"}}),
        ),
        Wire::Messages => named_event(
            out,
            "error",
            &json!({"type": "error", "error": {"type": "permission_error", "message": message}}),
        ),
        Wire::Responses => named_event(
            out,
            "error",
            &json!({"type": "error", "code": "guardrail_blocked", "message": message, "param": null}),
        ),
    }
}

/// Appends the error event of `wire` to `out`.
pub(crate) fn error_event(wire: Wire, message: &str, out: &mut BytesMut) {
    match wire {
        Wire::ChatCompletions => data_line(
            out,
            &json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}}),
        ),
        Wire::Messages => named_event(
            out,
            "error",
            &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
        ),
        Wire::Responses => named_event(
            out,
            "error",
            &json!({"type": "error", "code": "server_error", "message": message, "param": null}),
        ),
    }
}

impl<B> Body for RenderStreamError<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let e = match std::task::ready!(this.cut.poll_relay(this.inner, cx, |_| true)) {
            Some(Ok(frame)) => return Poll::Ready(Some(Ok(frame))),
            None => {
                *this.done = true;
                return Poll::Ready(None);
            }
            Some(Err(e)) => e,
        };
        *this.done = true;
        if cause_ref::<UpstreamErrorEvent>(e.as_ref()).is_some() {
            return Poll::Ready(None);
        }
        let message = if cause_ref::<EventTooLarge>(e.as_ref()).is_some() {
            tracing::warn!(error = %e, "llm stream: upstream event too large");
            "upstream sent an oversized stream event"
        } else if cause_ref::<UpstreamTimeout>(e.as_ref()).is_some() {
            tracing::warn!(error = %e, "llm stream: upstream went silent");
            "upstream stream timed out"
        } else {
            tracing::warn!(error = %e, "llm stream: upstream failed mid-stream");
            "upstream stream failed"
        };
        let mut out = BytesMut::new();
        error_event(*this.wire, message, &mut out);
        Poll::Ready(Some(Ok(Frame::data(out.freeze()))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}
