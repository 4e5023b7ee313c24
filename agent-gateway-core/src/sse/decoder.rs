use std::fmt;
use std::mem;
use std::time::Duration;

use super::{Event, SseError};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One thing a stream carries, as [`Decoder::feed_with_comments`] hands it back: an event, or
/// a comment line (a keep-alive such as `: ping`).
///
/// A relay that re-encodes the events it decodes (a filter, a translation) sends the comments
/// on too, in order, so that a long stream behind it keeps its keep-alives and is not cut by
/// a proxy's idle timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded {
    /// A dispatched event.
    Event(Event),
    /// The text of one comment line, after the `:` and the one space that may follow it.
    Comment(String),
}

impl From<Event> for Decoded {
    fn from(event: Event) -> Self {
        Decoded::Event(event)
    }
}

/// Where the decoder puts what it decodes: events only, or events and comments.
trait Sink {
    fn event(&mut self, event: Event);
    fn comment(&mut self, text: &[u8]);
}

impl Sink for Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }

    fn comment(&mut self, _: &[u8]) {}
}

impl Sink for Vec<Decoded> {
    fn event(&mut self, event: Event) {
        self.push(Decoded::Event(event));
    }

    fn comment(&mut self, text: &[u8]) {
        let text = text.strip_prefix(b" ").unwrap_or(text);
        self.push(Decoded::Comment(String::from_utf8_lossy(text).into_owned()));
    }
}

/// An incremental event stream decoder: fed chunks as they arrive, it returns the events they
/// complete.
///
/// It follows the WHATWG *event stream interpretation* rules: an optional byte order mark at
/// the start, CRLF, CR and LF line breaks, `:` comments, a single space after the colon
/// removed, `data` lines joined with `\n`, and a blank line to dispatch. Only complete lines
/// are decoded, lossily, as UTF-8, so a character split across chunks arrives whole.
///
/// Memory is bounded: a line, or the data of one event, longer than
/// [`with_max_event_size`](Decoder::with_max_event_size) fails the decoder for good.
///
/// ```
/// use std::time::Duration;
/// use agent_gateway_core::sse::Decoder;
///
/// let mut decoder = Decoder::new();
/// let mut events = Vec::new();
/// decoder.feed(b"retry: 3000\r\nid: 7\r\ndata: he", &mut events).unwrap();
/// decoder.feed(b"llo\r\n\r\n: keep-alive\r\n", &mut events).unwrap();
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].data, "hello");
/// assert_eq!(decoder.last_event_id(), Some("7"));
/// assert_eq!(decoder.retry(), Some(Duration::from_millis(3000)));
/// ```
#[derive(Clone)]
pub struct Decoder {
    max: usize,
    failed: bool,
    /// Still at the start of the stream, where a byte order mark may be.
    at_start: bool,
    /// How many bytes of a byte order mark have been held back.
    bom_len: usize,
    /// The last line ended with a CR, so an LF that follows belongs to the same line break.
    skip_lf: bool,
    /// The bytes of the unfinished line, when it began in an earlier chunk.
    line: Vec<u8>,
    /// A field line was seen since the last blank line.
    in_event: bool,
    data: String,
    event: String,
    /// The id and retry set in the current block.
    block_id: Option<String>,
    block_retry: Option<Duration>,
    last_event_id: String,
    retry: Option<Duration>,
}

impl Decoder {
    /// The default for [`with_max_event_size`](Decoder::with_max_event_size): 1 MiB.
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 1024 * 1024;

    /// A decoder at the start of a stream, with the default size limit.
    pub fn new() -> Self {
        Decoder {
            max: Self::DEFAULT_MAX_EVENT_SIZE,
            failed: false,
            at_start: true,
            bom_len: 0,
            skip_lf: false,
            line: Vec::new(),
            in_event: false,
            data: String::new(),
            event: String::new(),
            block_id: None,
            block_retry: None,
            last_event_id: String::new(),
            retry: None,
        }
    }

    /// Sets the longest line, and the longest data of one event, in bytes.
    ///
    /// Decoding fails with [`SseError::TooLarge`] past it, whether or not the line has ended:
    /// an upstream that never sends a line break cannot make the decoder buffer without bound.
    pub fn with_max_event_size(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Decodes `chunk`, a piece of the stream cut anywhere, and pushes the events it completes
    /// onto `out`.
    ///
    /// On error, the events completed before the fault are in `out`, and the decoder has
    /// failed: every later call returns the same error.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), SseError> {
        self.feed_into(chunk, out)
    }

    /// Decodes `chunk` as [`feed`](Decoder::feed) does, and pushes onto `out` the comments it
    /// completes too, in stream order with the events.
    ///
    /// ```
    /// use agent_gateway_core::sse::{Decoded, Decoder, Event};
    ///
    /// let mut decoder = Decoder::new();
    /// let mut out = Vec::new();
    /// decoder.feed_with_comments(b"data: a\n\n: ping\n\ndata: b\n\n", &mut out).unwrap();
    /// assert_eq!(out, [
    ///     Decoded::Event(Event::new("a")),
    ///     Decoded::Comment("ping".into()),
    ///     Decoded::Event(Event::new("b")),
    /// ]);
    /// ```
    pub fn feed_with_comments(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<Decoded>,
    ) -> Result<(), SseError> {
        self.feed_into(chunk, out)
    }

    fn feed_into(&mut self, chunk: &[u8], out: &mut impl Sink) -> Result<(), SseError> {
        if self.failed {
            return Err(self.too_large());
        }
        let result = self.decode(chunk, out);
        if result.is_err() {
            self.failed = true;
            self.reset_stream();
            self.line = Vec::new();
            self.data = String::new();
        }
        result
    }

    /// Ends the stream. Returns `true` if it ended inside an event, which is then discarded,
    /// as the standard requires: only a blank line dispatches.
    ///
    /// The decoder is then ready for the next stream (a reconnection), which may again begin
    /// with a byte order mark. [`last_event_id`](Decoder::last_event_id) and
    /// [`retry`](Decoder::retry) carry over, as they do for a browser's `EventSource`. A
    /// decoder that has failed discarded everything when it failed: it returns `false` and
    /// stays failed.
    pub fn finish(&mut self) -> bool {
        let unfinished_line = self.bom_len > 0 || self.line.first().is_some_and(|&b| b != b':');
        let truncated = self.in_event || unfinished_line;
        self.reset_stream();
        truncated
    }

    /// The id to resume from, sent as `Last-Event-ID` when reconnecting: the last id set, as
    /// of the last blank line. `None` if no id was set, or the last one was empty.
    pub fn last_event_id(&self) -> Option<&str> {
        Some(self.last_event_id.as_str()).filter(|id| !id.is_empty())
    }

    /// The reconnection time the stream asked for with its last valid `retry` field.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn too_large(&self) -> SseError {
        SseError::TooLarge { limit: self.max }
    }

    /// Forgets everything about the current stream, keeping what outlives it.
    fn reset_stream(&mut self) {
        self.at_start = true;
        self.bom_len = 0;
        self.skip_lf = false;
        self.line.clear();
        self.in_event = false;
        self.data.clear();
        self.event.clear();
        self.block_id = None;
        self.block_retry = None;
    }

    fn decode(&mut self, mut chunk: &[u8], out: &mut impl Sink) -> Result<(), SseError> {
        while self.at_start {
            let Some((&byte, rest)) = chunk.split_first() else {
                return Ok(());
            };
            if byte == BOM[self.bom_len] {
                chunk = rest;
                self.bom_len += 1;
                self.at_start = self.bom_len < BOM.len();
            } else {
                // Not a byte order mark after all: what was held back starts the first line.
                self.line.extend_from_slice(&BOM[..self.bom_len]);
                self.at_start = false;
            }
        }
        self.bom_len = 0;

        while !chunk.is_empty() {
            if mem::take(&mut self.skip_lf) && chunk[0] == b'\n' {
                chunk = &chunk[1..];
                continue;
            }
            let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.buffer(chunk)?;
                break;
            };
            self.skip_lf = chunk[end] == b'\r';
            let line = &chunk[..end];
            chunk = &chunk[end + 1..];
            if self.line.is_empty() {
                // The whole line is in this chunk: no copy.
                self.process_line(line, out)?;
            } else {
                self.buffer(line)?;
                let line = mem::take(&mut self.line);
                let result = self.process_line(&line, out);
                self.line = line;
                self.line.clear();
                result?;
            }
        }
        Ok(())
    }

    /// Holds back part of an unfinished line.
    fn buffer(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.max {
            return Err(self.too_large());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut impl Sink) -> Result<(), SseError> {
        if line.len() > self.max {
            return Err(self.too_large());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            None if line.is_empty() => {
                self.dispatch(out);
                return Ok(());
            }
            Some(0) => {
                out.comment(&line[1..]);
                return Ok(());
            }
            None => (line, &b""[..]),
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
        };
        self.in_event = true;
        match name {
            b"data" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() > self.max {
                    return Err(self.too_large());
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.block_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0_u64, |millis, digit| {
                    millis
                        .saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                let retry = Duration::from_millis(millis);
                self.retry = Some(retry);
                self.block_retry = Some(retry);
            }
            _ => {} // an unknown field, or an id or retry to ignore
        }
        Ok(())
    }

    /// Handles a blank line: commits the id, and dispatches the event if it has data.
    fn dispatch(&mut self, out: &mut impl Sink) {
        self.in_event = false;
        let id = self.block_id.take();
        if let Some(id) = &id {
            self.last_event_id.clone_from(id);
        }
        let retry = self.block_retry.take();
        let event = mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = mem::take(&mut self.data);
        data.pop(); // the LF after the last data line
        out.event(Event {
            event: Some(event).filter(|event| !event.is_empty()),
            data,
            id,
            retry,
        });
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("max_event_size", &self.max)
            .field("failed", &self.failed)
            .field("buffered", &(self.line.len() + self.data.len()))
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
