//! Server-Sent Events: an encoder, and a push-style decoder that follows the WHATWG rules.
//!
//! ```
//! use agent_gateway_core::sse::{Decoder, Event};
//!
//! let event = Event::new("{\"total_tokens\":7}\nlast line").with_event("usage").with_id("42");
//! let wire = event.to_bytes().unwrap();
//! assert_eq!(
//!     &wire[..],
//!     b"event: usage\nid: 42\ndata: {\"total_tokens\":7}\ndata: last line\n\n"
//! );
//!
//! // The decoder is fed the bytes as they pass by, cut anywhere.
//! let mut decoder = Decoder::new();
//! let mut events = Vec::new();
//! let (head, tail) = wire.split_at(20);
//! decoder.feed(head, &mut events).unwrap();
//! assert!(events.is_empty());
//! decoder.feed(tail, &mut events).unwrap();
//! assert_eq!(events, [event]);
//! assert_eq!(events[0].event_type(), "usage");
//! assert_eq!(decoder.last_event_id(), Some("42"));
//! assert!(!decoder.finish(), "the stream ended between events");
//!
//! // A line break in an id would corrupt the stream, so it is refused.
//! assert!(Event::new("x").with_id("4\n2").to_bytes().is_err());
//! ```
//!
//! # Why push-style
//!
//! A gateway relays an upstream stream byte for byte and must not hold it back, yet it has to
//! see the events go by: an LLM stream reports its token usage in its last events. So the
//! [`Decoder`] owns no I/O. It is handed each chunk as the chunk is forwarded, keeps only the
//! unfinished line and event, and hands back the events the chunk completed. Chunks may be cut
//! anywhere: inside a UTF-8 character, inside a byte order mark, or between the CR and the LF
//! of a line break.
//!
//! # Conformance
//!
//! The decoder implements the *event stream interpretation* of the WHATWG HTML standard
//! exactly, with one addition: a size limit, so that a hostile upstream cannot make it buffer
//! without bound (see [`Decoder::with_max_event_size`]). The encoder writes only streams that
//! decode back to the event it was given, but for what the format cannot carry: line breaks in
//! the data come back as `\n`, and the retry time in whole milliseconds (see [`Event`]). What
//! it cannot write at all, such as a line break in an id, it refuses with an [`SseError`].

mod decoder;
mod event;

pub use decoder::{Decoded, Decoder};
pub use event::{Event, comment};

/// Why an event could not be encoded, or a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line, or the data of one event, is longer than the decoder's limit. The decoder has
    /// failed and decodes nothing more.
    #[error("SSE line or event data exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The event name is empty or contains a CR, LF or NUL.
    #[error("invalid SSE event name: it must be non-empty and contain no CR, LF or NUL")]
    InvalidEventName,
    /// The event id contains a CR, LF or NUL.
    #[error("invalid SSE event id: it must contain no CR, LF or NUL")]
    InvalidId,
}

#[cfg(test)]
mod tests;
