use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::SseError;

/// One server-sent event: what a blank line dispatches, and what the encoder writes.
///
/// The fields are public, so an event is checked when it is encoded, not when it is built:
/// [`encode_into`](Event::encode_into) refuses a name or an id that cannot be written on one
/// line, rather than emit a stream that means something else.
///
/// An event encodes and decodes back to itself, with two exceptions the format cannot
/// express: every line break in `data` (`\r\n`, `\r` or `\n`) comes back as `\n`, and `retry`
/// comes back as whole milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The event type, from an `event` field; `None` is the default type, `"message"`.
    pub event: Option<String>,
    /// The data: the values of the event's `data` fields, joined with `\n`.
    pub data: String,
    /// The id set by an `id` field in this event's own block, if it had one.
    ///
    /// An id persists across events; [`Decoder::last_event_id`](super::Decoder::last_event_id)
    /// gives the one to resume from.
    pub id: Option<String>,
    /// The reconnection time set by a `retry` field in this event's own block, if it had one.
    pub retry: Option<Duration>,
}

impl Event {
    /// An unnamed event carrying `data`.
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            data: data.into(),
            ..Event::default()
        }
    }

    /// Sets the event type. It must be non-empty and contain no CR, LF or NUL.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the id. It must contain no CR, LF or NUL; an empty id tells the client to forget
    /// the last one.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the reconnection time the client should use from now on.
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The event type: the name from the `event` field, or `"message"` when it had none.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    /// Checks that the event can be encoded faithfully: its name is non-empty and neither its
    /// name nor its id contains a CR, LF or NUL.
    pub fn validate(&self) -> Result<(), SseError> {
        if let Some(event) = &self.event
            && (event.is_empty() || !is_one_line(event))
        {
            return Err(SseError::InvalidEventName);
        }
        match &self.id {
            Some(id) if !is_one_line(id) => Err(SseError::InvalidId),
            _ => Ok(()),
        }
    }

    /// Appends the event to `buf`: `event`, `id`, `retry` (in milliseconds) and one `data`
    /// line for each line of the data, then the blank line that dispatches it.
    ///
    /// On error nothing is written.
    pub fn encode_into(&self, buf: &mut BytesMut) -> Result<(), SseError> {
        self.validate()?;
        if let Some(event) = &self.event {
            put_field(buf, "event", event);
        }
        if let Some(id) = &self.id {
            put_field(buf, "id", id);
        }
        if let Some(retry) = self.retry {
            // The decoder saturates at u64::MAX milliseconds; so does the encoder.
            let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            put_field(buf, "retry", &millis.to_string());
        }
        for line in lines(&self.data) {
            put_field(buf, "data", line);
        }
        buf.put_u8(b'\n');
        Ok(())
    }

    /// The event encoded, as by [`encode_into`](Event::encode_into).
    pub fn to_bytes(&self) -> Result<Bytes, SseError> {
        let mut buf = BytesMut::with_capacity(self.data.len() + 32);
        self.encode_into(&mut buf)?;
        Ok(buf.freeze())
    }
}

/// A comment, one `:` line for each line of `text`: the keep-alive that holds an idle stream
/// open through proxies. Decoders ignore it.
///
/// ```
/// assert_eq!(&agent_gateway_core::sse::comment("ping")[..], b": ping\n");
/// ```
pub fn comment(text: &str) -> Bytes {
    let mut buf = BytesMut::with_capacity(text.len() + 3);
    for line in lines(text) {
        put_field(&mut buf, "", line);
    }
    buf.freeze()
}

fn is_one_line(value: &str) -> bool {
    !value.contains(['\r', '\n', '\0'])
}

/// Writes `name: value`, or `name:` for an empty value.
///
/// The space is always written before a value, so a value that starts with a space keeps it:
/// the decoder removes exactly one.
fn put_field(buf: &mut BytesMut, name: &str, value: &str) {
    buf.reserve(name.len() + value.len() + 3);
    buf.put_slice(name.as_bytes());
    if value.is_empty() {
        buf.put_slice(b":\n");
    } else {
        buf.put_slice(b": ");
        buf.put_slice(value.as_bytes());
        buf.put_u8(b'\n');
    }
}

/// The lines of `text`, split at `\r\n`, `\r` or `\n`; an empty text is one empty line.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(end) => {
                let break_len = if text[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&text[end + break_len..]);
                Some(&text[..end])
            }
        }
    })
}
