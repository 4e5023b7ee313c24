use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use agent_gateway_core::BoxError;
use agent_gateway_core::sse::{self, Decoded, Decoder, Event};

/// Rewrites the events of one SSE stream into the events of another wire format, event by
/// event, as they arrive.
pub trait Transform: Send + 'static {
    /// Sees one upstream event, and appends what the client gets for it to `out`.
    fn event(&mut self, event: &Event, out: &mut BytesMut);

    /// The upstream stream ended; appends what closes the client's stream to `out`.
    /// `complete` tells whether upstream ended between events, its SSE stream well formed.
    fn finish(&mut self, complete: bool, out: &mut BytesMut);

    /// Upstream failed mid-stream (a reset, an undecodable stream); appends the error event
    /// of the client's dialect to `out`. The client's stream ends right after it.
    fn error(&mut self, message: &str, out: &mut BytesMut);

    /// Sees one upstream comment line (a keep-alive) and appends what the client gets for it:
    /// by default the same comment, so that a long stream keeps its keep-alives through any
    /// transform and a proxy's idle timeout does not cut it.
    fn comment(&mut self, text: &str, out: &mut BytesMut) {
        out.extend_from_slice(&sse::comment(text));
    }

    /// Whether the transform has ended the client's stream early (a guardrail blocked it):
    /// the upstream is then read no further.
    fn ended(&self) -> bool {
        false
    }
}

pin_project! {
    /// A streaming body transformer: decodes the upstream SSE stream with core's push
    /// [`Decoder`] as its chunks arrive and hands each complete event to a [`Transform`].
    ///
    /// Nothing waits beyond the end of its event: each upstream chunk yields at once what the
    /// events it completed translate to. An upstream error ends the stream with the dialect's
    /// error event rather than a reset, so that the client's SDK reports it; the inner body
    /// (usually a `MeteredBody`) has seen the error and reported its usage as failed.
    #[derive(Debug)]
    pub struct SseTransform<B, T> {
        #[pin]
        inner: B,
        decoder: Decoder,
        events: Vec<Decoded>,
        transform: T,
        done: bool,
    }
}

impl<B, T> SseTransform<B, T> {
    /// Wraps `inner`, translating its events with `transform`.
    pub fn new(inner: B, transform: T) -> Self {
        SseTransform {
            inner,
            decoder: Decoder::new(),
            events: Vec::new(),
            transform,
            done: false,
        }
    }

    /// The transform.
    pub fn get_ref(&self) -> &T {
        &self.transform
    }
}

impl<B, T> Body for SseTransform<B, T>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    T: Transform,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            if *this.done {
                return Poll::Ready(None);
            }
            let mut out = BytesMut::new();
            match std::task::ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers have no meaning in the other dialect
                    };
                    match this.decoder.feed_with_comments(&data, this.events) {
                        Ok(()) => {
                            for decoded in this.events.drain(..) {
                                if this.transform.ended() {
                                    break;
                                }
                                match decoded {
                                    Decoded::Event(event) => this.transform.event(&event, &mut out),
                                    Decoded::Comment(text) => {
                                        this.transform.comment(&text, &mut out);
                                    }
                                    _ => {}
                                }
                            }
                            this.events.clear();
                            if this.transform.ended() {
                                *this.done = true;
                            }
                        }
                        Err(e) => {
                            *this.done = true;
                            this.events.clear();
                            tracing::warn!(error = %e, "llm stream: cannot decode upstream SSE");
                            this.transform
                                .error("upstream sent a malformed stream", &mut out);
                        }
                    }
                }
                Some(Err(e)) => {
                    *this.done = true;
                    let e: BoxError = e.into();
                    tracing::warn!(error = %e, "llm stream: upstream failed mid-stream");
                    this.transform.error("upstream stream failed", &mut out);
                }
                None => {
                    *this.done = true;
                    let complete = !this.decoder.finish();
                    this.transform.finish(complete, &mut out);
                }
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Appends `data: {value}` and a blank line.
pub(crate) fn data_line(out: &mut BytesMut, value: &serde_json::Value) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(value.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// Appends `event: {name}`, `data: {value}` and a blank line.
pub(crate) fn named_event(out: &mut BytesMut, name: &str, value: &serde_json::Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\n");
    data_line(out, value);
}
