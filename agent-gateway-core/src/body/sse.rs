//! A Server-Sent Events body over a stream of events.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use crate::sse::{Decoded, SseError, comment};

pin_project! {
    /// A `text/event-stream` body: each [`Event`](crate::sse::Event) of the stream (or
    /// [`Decoded`] item: an event or a comment, such as a relayed keep-alive) is encoded and
    /// sent as one frame as soon as the stream yields it; the body ends when the stream does.
    ///
    /// An event the format cannot carry (a line break in its id or name) fails the body with
    /// an [`SseError`], rather than corrupting the stream.
    #[derive(Debug)]
    pub struct EventBody<S> {
        #[pin]
        events: S,
        done: bool,
    }
}

impl<S> EventBody<S> {
    /// A body streaming `events`.
    pub fn new(events: S) -> Self {
        EventBody {
            events,
            done: false,
        }
    }
}

impl<S> Body for EventBody<S>
where
    S: Stream,
    S::Item: Into<Decoded>,
{
    type Data = Bytes;
    type Error = SseError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, SseError>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.events.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => {
                let bytes = match item.into() {
                    Decoded::Event(event) => event.to_bytes(),
                    Decoded::Comment(text) => Ok(comment(&text)),
                };
                let frame = bytes.map(Frame::data);
                if frame.is_err() {
                    *this.done = true;
                }
                Poll::Ready(Some(frame))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    use crate::sse::Event;

    #[tokio::test]
    async fn comments_are_sent_in_order_with_the_events() {
        let items = futures_util::stream::iter([
            Decoded::Event(Event::new("a")),
            Decoded::Comment("ping".into()),
            Decoded::Event(Event::new("b")),
        ]);
        let body = EventBody::new(items).collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"data: a\n\n: ping\ndata: b\n\n");
    }

    #[tokio::test]
    async fn an_event_the_format_cannot_carry_fails_the_body() {
        let events =
            futures_util::stream::iter([Event::new("ok"), Event::new("x").with_id("a\nb")]);
        let err = EventBody::new(events).collect().await.expect_err("fails");
        assert_eq!(err, SseError::InvalidId);
    }
}
