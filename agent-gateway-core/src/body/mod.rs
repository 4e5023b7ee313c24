//! The gateway's one response body, [`GatewayBody`], and the bounded read of a request body,
//! [`read_limited`].
//!
//! Every front answers with a [`GatewayBody`]: a buffered JSON reply, an empty one, a relayed
//! stream of bytes, or Server-Sent Events built from a stream of core [`Event`]s. It is boxed
//! without requiring `Sync`, so a streamed body can own plain state (no `Mutex` just to be
//! `Sync`).
//!
//! ```
//! use agent_gateway_core::body::{BodyError, GatewayBody, read_limited};
//! use agent_gateway_core::sse::Event;
//! use http::HeaderMap;
//! use http_body_util::BodyExt;
//! use tower::{ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A service that echoes bodies of at most 8 bytes, and answers 413 to longer ones.
//! let echo = service_fn(|req: http::Request<GatewayBody>| async move {
//!     let (parts, body) = req.into_parts();
//!     Ok::<_, std::convert::Infallible>(match read_limited(body, 8, &parts.headers).await {
//!         Ok(bytes) => http::Response::new(GatewayBody::full(bytes)),
//!         Err(err) => {
//!             let mut res = http::Response::new(GatewayBody::empty());
//!             *res.status_mut() = err.http_status();
//!             res
//!         }
//!     })
//! });
//! // Allowed: a short body comes back.
//! let res = echo.clone().oneshot(http::Request::new(GatewayBody::full("hi"))).await.unwrap();
//! assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "hi");
//! // Refused: a long one is 413.
//! let res = echo.oneshot(http::Request::new(GatewayBody::full("far too long"))).await.unwrap();
//! assert_eq!(res.status(), 413);
//!
//! // Events become a `text/event-stream` body, one frame per event.
//! let events = futures_util::stream::iter([Event::new("a"), Event::new("b").with_id("2")]);
//! let body = GatewayBody::sse(events).collect().await.unwrap().to_bytes();
//! assert_eq!(body, "data: a\n\nid: 2\ndata: b\n\n");
//! # let _ = BodyError::TooLarge { limit: 1 };
//! # }
//! ```
//!
//! [`Event`]: crate::sse::Event

mod limited;
mod sse;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};

pub use self::limited::{BodyError, read_limited};
pub use self::sse::EventBody;
use crate::BoxError;
use crate::sse::{Decoded, Event};

/// The response body of every gateway service: any `Body<Data = Bytes>`, boxed, `Send` but not
/// necessarily `Sync`.
pub struct GatewayBody(UnsyncBoxBody<Bytes, BoxError>);

impl GatewayBody {
    /// Boxes any body whose error converts into a [`BoxError`].
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        GatewayBody(body.map_err(Into::into).boxed_unsync())
    }

    /// A buffered body holding `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        GatewayBody::new(Full::new(bytes.into()))
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        GatewayBody::new(Empty::<Bytes>::new())
    }

    /// A body relaying a stream of chunks; an error from the stream fails the body.
    pub fn stream<S, E>(chunks: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        GatewayBody::new(StreamBody::new(ChunkFrames { chunks }))
    }

    /// A Server-Sent Events body: each event of `events` encoded as it comes (see
    /// [`EventBody`]).
    pub fn sse<S>(events: S) -> Self
    where
        S: Stream<Item = Event> + Send + 'static,
    {
        GatewayBody::new(EventBody::new(events))
    }

    /// A `200 text/event-stream` response streaming `events`, with the headers that keep
    /// proxies from caching or buffering it.
    pub fn sse_response<S>(events: S) -> Response<Self>
    where
        S: Stream<Item = Event> + Send + 'static,
    {
        sse_headers(Response::new(GatewayBody::sse(events)))
    }

    /// A `200 text/event-stream` response streaming `items`, events and comments: a relay that
    /// sends an upstream's keep-alive comments on as they came (see [`Decoded`]).
    pub fn sse_relay_response<S>(items: S) -> Response<Self>
    where
        S: Stream<Item = Decoded> + Send + 'static,
    {
        sse_headers(Response::new(GatewayBody::new(EventBody::new(items))))
    }
}

/// Adds the headers that keep proxies from caching or buffering an event stream.
fn sse_headers(mut res: Response<GatewayBody>) -> Response<GatewayBody> {
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

impl Default for GatewayBody {
    fn default() -> Self {
        GatewayBody::empty()
    }
}

impl fmt::Debug for GatewayBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GatewayBody").finish_non_exhaustive()
    }
}

impl From<Bytes> for GatewayBody {
    fn from(bytes: Bytes) -> Self {
        GatewayBody::full(bytes)
    }
}

impl From<String> for GatewayBody {
    fn from(text: String) -> Self {
        GatewayBody::full(text)
    }
}

impl From<&'static str> for GatewayBody {
    fn from(text: &'static str) -> Self {
        GatewayBody::full(text)
    }
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// Chunks of a stream as data frames.
    struct ChunkFrames<S> {
        #[pin]
        chunks: S,
    }
}

impl<S, E> Stream for ChunkFrames<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    type Item = Result<Frame<Bytes>, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project()
            .chunks
            .poll_next(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data).map_err(Into::into)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_relay_chunks_and_fail_on_error() {
        let ok = futures_util::stream::iter([Ok::<_, BoxError>(Bytes::from("a")), Ok("b".into())]);
        let body = GatewayBody::stream(ok).collect().await.expect("body");
        assert_eq!(body.to_bytes(), "ab");
        let bad = futures_util::stream::iter([Ok(Bytes::from("a")), Err(BoxError::from("cut"))]);
        let err = GatewayBody::stream(bad).collect().await.expect_err("fails");
        assert_eq!(err.to_string(), "cut");
    }

    #[test]
    fn buffered_bodies_know_their_size() {
        assert_eq!(GatewayBody::full("four").size_hint().exact(), Some(4));
        assert!(GatewayBody::empty().is_end_stream());
        assert!(GatewayBody::default().is_end_stream());
        let res = GatewayBody::sse_response(futures_util::stream::empty());
        assert_eq!(res.headers()[CONTENT_TYPE], "text/event-stream");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    }
}
