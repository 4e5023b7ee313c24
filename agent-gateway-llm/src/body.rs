//! The response body of every front: whole bytes, or a relayed stream.
//!
//! ```
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//! use bytes::Bytes;
//! use http_body::{Body, Frame};
//! use http_body_util::BodyExt;
//! use agent_gateway_llm::LlmBody;
//!
//! /// An upstream body that fails at once.
//! struct Broken;
//! impl Body for Broken {
//!     type Data = Bytes;
//!     type Error = std::io::Error;
//!     fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
//!         Poll::Ready(Some(Err(std::io::Error::other("reset"))))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let whole = LlmBody::full("{\"ok\":true}");
//! assert!(!whole.is_stream());
//! assert_eq!(whole.size_hint().exact(), Some(11));
//! assert_eq!(whole.collect().await.unwrap().to_bytes(), "{\"ok\":true}");
//!
//! // A stream's error is the body's error, so the server aborts the response.
//! let streamed = LlmBody::stream(Broken);
//! assert!(streamed.is_stream());
//! assert!(streamed.collect().await.is_err());
//! # });
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use agent_gateway_core::BoxError;

/// A front's response body: a whole JSON document, or a stream relayed as it arrives.
///
/// It is `Send` and `Unpin`, with `Data = Bytes`, so axum and hyper serve it directly.
pub struct LlmBody {
    inner: Inner,
}

enum Inner {
    Full(Option<Bytes>),
    Stream(UnsyncBoxBody<Bytes, BoxError>),
}

impl LlmBody {
    /// A whole body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        LlmBody {
            inner: Inner::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// A streamed body.
    pub fn stream<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        LlmBody {
            inner: Inner::Stream(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// Whether the body is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.inner, Inner::Stream(_))
    }
}

impl std::fmt::Debug for LlmBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Full(b) => f
                .debug_struct("LlmBody")
                .field("len", &b.as_ref().map_or(0, Bytes::len))
                .finish(),
            Inner::Stream(_) => f.debug_struct("LlmBody").field("stream", &true).finish(),
        }
    }
}

impl Body for LlmBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().inner {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Stream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Stream(body) => body.size_hint(),
        }
    }
}
