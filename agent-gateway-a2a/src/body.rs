//! The response body every service of this crate answers with, and the bounded read of one.
//!
//! ```
//! use agent_gateway_a2a::body::full;
//! use http_body::Body;
//!
//! let body = full("{\"ok\":true}");
//! // A buffered body knows its exact size and is not a stream.
//! assert_eq!(body.size_hint().exact(), Some(11));
//! let empty = full("");
//! assert!(empty.is_end_stream());
//! ```

use agent_gateway_core::BoxError;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

/// A boxed HTTP body: a buffered JSON reply or a relayed event stream.
pub type A2aBody = UnsyncBoxBody<Bytes, BoxError>;

/// A body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> A2aBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Reads a whole body of at most `limit` bytes; `None` if it is longer or fails.
pub(crate) async fn read_limited<B>(mut body: B, limit: usize) -> Option<Bytes>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return None };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return None;
            }
            buf.extend_from_slice(&data);
        }
    }
    Some(buf.freeze())
}
