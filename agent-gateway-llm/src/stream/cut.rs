//! Cutting a relayed byte stream on SSE event boundaries, bounded: what
//! [`StripUsageChunk`](super::StripUsageChunk) and [`RenderStreamError`](super::RenderStreamError)
//! share.
//!
//! Bytes wait only until their event's blank line. The scan resumes where the last one
//! stopped, so a large event arriving in many small chunks is scanned once, not once per
//! chunk; and an event may not grow past the SSE decoder's limit (1 MiB), so a peer that never
//! ends an event cannot make the relay buffer without bound.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};

use agent_gateway_core::BoxError;
use agent_gateway_core::sse::Decoder;

/// Upstream sent a stream event larger than the relay accepts (the SSE decoder's limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("upstream sent a stream event over {max} bytes")]
#[non_exhaustive]
pub struct EventTooLarge {
    /// The limit, in bytes.
    pub max: usize,
}

/// The bytes of the event being assembled, and how far they have been scanned.
#[derive(Debug)]
pub(super) struct EventCut {
    pending: BytesMut,
    /// Where the scan resumes: everything before it holds no event end.
    scanned: usize,
    /// Where the line being scanned starts.
    line_start: usize,
    max: usize,
    /// The inner body has ended and the rest went out.
    ended: bool,
    /// An event grew too large after whole events that still had to go out.
    failed: Option<EventTooLarge>,
}

impl EventCut {
    pub(super) fn new() -> Self {
        EventCut::with_max(Decoder::DEFAULT_MAX_EVENT_SIZE)
    }

    pub(super) fn with_max(max: usize) -> Self {
        EventCut {
            pending: BytesMut::new(),
            scanned: 0,
            line_start: 0,
            max,
            ended: false,
            failed: None,
        }
    }

    /// Polls `inner` until whole events can go out: data frames are cut on event boundaries
    /// and the events `keep` accepts are relayed; other frames pass; at the end an unfinished
    /// last event goes out as it came. Fails with the inner error, or with [`EventTooLarge`].
    pub(super) fn poll_relay<B>(
        &mut self,
        mut inner: Pin<&mut B>,
        cx: &mut Context<'_>,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            if let Some(failed) = self.failed.take() {
                self.ended = true;
                return Poll::Ready(Some(Err(failed.into())));
            }
            match ready!(inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let mut out = BytesMut::new();
                        // The events before the oversized one go out first.
                        if let Err(e) = self.feed(&data, &keep, &mut out) {
                            self.failed = Some(e);
                        }
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                        }
                    }
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(e)) => {
                    self.rest();
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    self.ended = true;
                    let rest = self.rest();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(rest))));
                    }
                }
            }
        }
    }

    /// Appends `data`, then moves every complete event it finishes into `out`, kept only if
    /// `keep` says so. Fails once an event grows past the limit.
    pub(super) fn feed(
        &mut self,
        data: &[u8],
        keep: impl Fn(&[u8]) -> bool,
        out: &mut BytesMut,
    ) -> Result<(), EventTooLarge> {
        self.pending.extend_from_slice(data);
        while let Some(end) = self.scan() {
            let event = self.pending.split_to(end);
            if event.len() > self.max {
                return Err(self.too_large());
            }
            if keep(&event) {
                out.extend_from_slice(&event);
            }
        }
        if self.pending.len() > self.max {
            return Err(self.too_large());
        }
        Ok(())
    }

    /// What is left at the end: an unfinished last event, which goes out as it came.
    pub(super) fn rest(&mut self) -> Bytes {
        self.scanned = 0;
        self.line_start = 0;
        self.pending.split().freeze()
    }

    fn too_large(&mut self) -> EventTooLarge {
        self.rest();
        EventTooLarge { max: self.max }
    }

    /// The end of the first event in `pending`, resuming the scan; on success the scan
    /// state is reset for the next event, which starts there.
    fn scan(&mut self) -> Option<usize> {
        match scan(&self.pending, self.scanned, self.line_start) {
            Scan::End(end) => {
                self.scanned = 0;
                self.line_start = 0;
                Some(end)
            }
            Scan::Partial { at, line_start } => {
                self.scanned = at;
                self.line_start = line_start;
                None
            }
        }
    }
}

enum Scan {
    /// The index just past the blank line that ends the first event.
    End(usize),
    /// No end yet: resume at `at`, in a line starting at `line_start`.
    Partial { at: usize, line_start: usize },
}

/// Scans `buf` from `at` for the blank line that ends its first event. Line breaks are CRLF,
/// LF or CR; a CR at the very end waits for the next byte.
fn scan(buf: &[u8], mut at: usize, mut line_start: usize) -> Scan {
    while at < buf.len() {
        let (is_break, len) = match buf[at] {
            b'\n' => (true, 1),
            b'\r' => match buf.get(at + 1) {
                Some(b'\n') => (true, 2),
                Some(_) => (true, 1),
                None => return Scan::Partial { at, line_start },
            },
            _ => (false, 1),
        };
        if is_break {
            if at == line_start {
                return Scan::End(at + len);
            }
            line_start = at + len;
        }
        at += len;
    }
    Scan::Partial { at, line_start }
}

#[cfg(test)]
/// The index just past the blank line that ends the first event in `buf`, if complete.
pub(super) fn event_end(buf: &[u8]) -> Option<usize> {
    match scan(buf, 0, 0) {
        Scan::End(end) => Some(end),
        Scan::Partial { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_resumes_where_it_stopped() {
        let mut cut = EventCut::new();
        let mut out = BytesMut::new();
        cut.feed(b"data: abc", |_| true, &mut out).unwrap();
        assert_eq!((cut.scanned, cut.line_start), (9, 0));
        // A CR at the end waits for the next byte, and is scanned again then.
        cut.feed(b"\r", |_| true, &mut out).unwrap();
        assert_eq!((cut.scanned, cut.line_start), (9, 0));
        cut.feed(b"\ndata: d", |_| true, &mut out).unwrap();
        assert_eq!((cut.scanned, cut.line_start), (18, 11));
        assert!(out.is_empty());
        cut.feed(b"\n\ndata: next", |_| true, &mut out).unwrap();
        assert_eq!(&out[..], b"data: abc\r\ndata: d\n\n");
        assert_eq!((cut.scanned, cut.line_start), (10, 0));
        assert_eq!(&cut.rest()[..], b"data: next");
    }

    #[test]
    fn an_event_may_not_grow_past_the_limit() {
        let mut cut = EventCut::with_max(8);
        let mut out = BytesMut::new();
        cut.feed(b"data: a\n\n", |_| true, &mut out).unwrap_err();
        let mut cut = EventCut::with_max(9);
        cut.feed(b"data: a\n\ndata:", |_| true, &mut out).unwrap();
        assert_eq!(&out[..], b"data: a\n\n");
        let err = cut.feed(b" 12345", |_| true, &mut out).unwrap_err();
        assert_eq!(err, EventTooLarge { max: 9 });
        assert!(cut.rest().is_empty(), "what was held is dropped");
    }
}
