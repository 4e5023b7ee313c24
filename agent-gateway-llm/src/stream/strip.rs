use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use serde_json::Value;

use agent_gateway_core::BoxError;

use super::cut::EventCut;

pin_project! {
    /// Relays an OpenAI chat stream unchanged but for one event: the final chunk with
    /// `choices: []` and a `usage` object, which the gateway asked for on the client's behalf
    /// (`stream_options.include_usage`) and the client did not.
    ///
    /// This is the one place where the gateway alters a stream's bytes. To drop a whole event
    /// it cuts the stream on event boundaries: bytes wait only until their event's blank line,
    /// never longer, and every other event goes out byte for byte. The `"usage": null` field of
    /// the other chunks is left as it is; clients treat it as absent. An event over the SSE
    /// decoder's limit (1 MiB) fails the stream with [`EventTooLarge`](super::EventTooLarge),
    /// which [`RenderStreamError`](super::RenderStreamError) renders in the client's dialect.
    #[derive(Debug)]
    pub struct StripUsageChunk<B> {
        #[pin]
        inner: B,
        cut: EventCut,
        done: bool,
    }
}

impl<B> StripUsageChunk<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        StripUsageChunk {
            inner,
            cut: EventCut::new(),
            done: false,
        }
    }

    #[cfg(test)]
    pub(super) fn with_max_event(inner: B, max: usize) -> Self {
        StripUsageChunk {
            inner,
            cut: EventCut::with_max(max),
            done: false,
        }
    }
}

impl<B> Body for StripUsageChunk<B>
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
        let polled = std::task::ready!(
            this.cut
                .poll_relay(this.inner, cx, |event| { !is_usage_only_chunk(event) })
        );
        if !matches!(polled, Some(Ok(_))) {
            *this.done = true;
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

fn is_usage_only_chunk(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else {
        return false;
    };
    let mut data = String::new();
    for line in text.split(['\n', '\r']) {
        if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if !data.contains("\"usage\"") {
        return false;
    }
    match serde_json::from_str::<Value>(&data) {
        Ok(v) => {
            v.get("choices")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
                && v.get("usage").is_some_and(Value::is_object)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
pub(super) fn split_events(buf: &[u8]) -> Vec<Vec<u8>> {
    let mut b = bytes::BytesMut::from(buf);
    let mut events = Vec::new();
    while let Some(end) = super::cut::event_end(&b) {
        events.push(b.split_to(end).to_vec());
    }
    events
}
