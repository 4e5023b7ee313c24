use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use serde_json::Value;

pin_project! {
    /// Relays an OpenAI chat stream unchanged but for one event: the final chunk with
    /// `choices: []` and a `usage` object, which the gateway asked for on the client's behalf
    /// (`stream_options.include_usage`) and the client did not.
    ///
    /// This is the one place where the gateway alters a stream's bytes. To drop a whole event
    /// it cuts the stream on event boundaries: bytes wait only until their event's blank line,
    /// never longer, and every other event goes out byte for byte. The `"usage": null` field of
    /// the other chunks is left as it is; clients treat it as absent.
    #[derive(Debug)]
    pub struct StripUsageChunk<B> {
        #[pin]
        inner: B,
        pending: BytesMut,
        done: bool,
    }
}

impl<B> StripUsageChunk<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        StripUsageChunk {
            inner,
            pending: BytesMut::new(),
            done: false,
        }
    }
}

impl<B> Body for StripUsageChunk<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        loop {
            if *this.done {
                return Poll::Ready(None);
            }
            match std::task::ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        this.pending.extend_from_slice(&data);
                        let out = take_complete_events(this.pending);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    *this.done = true;
                    // An unfinished last event goes out as it came.
                    let rest = this.pending.split().freeze();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(rest))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Removes the complete events from the front of `pending` and returns the bytes of those
/// to relay, in order.
fn take_complete_events(pending: &mut BytesMut) -> Bytes {
    let mut out = BytesMut::new();
    while let Some(end) = event_end(pending) {
        let event = pending.split_to(end);
        if !is_usage_only_chunk(&event) {
            out.extend_from_slice(&event);
        }
    }
    out.freeze()
}

/// The index just past the blank line that ends the first event in `buf`, if complete.
/// Line breaks are CRLF, LF or CR; a CR at the very end waits for the next byte.
pub(super) fn event_end(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    let mut i = 0;
    while i < buf.len() {
        let (is_break, len) = match buf[i] {
            b'\n' => (true, 1),
            b'\r' => match buf.get(i + 1) {
                Some(b'\n') => (true, 2),
                Some(_) => (true, 1),
                None => return None,
            },
            _ => (false, 1),
        };
        if is_break {
            if i == line_start {
                return Some(i + len);
            }
            line_start = i + len;
        }
        i += len;
    }
    None
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
    let mut b = BytesMut::from(buf);
    let mut events = Vec::new();
    while let Some(end) = event_end(&b) {
        events.push(b.split_to(end).to_vec());
    }
    events
}
