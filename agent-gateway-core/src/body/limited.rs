//! Reading a whole request body, bounded.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::BoxError;

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is, or says it is, longer than the limit.
    #[error("the body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Reading the body failed (the client went away, a malformed chunk, ...).
    #[error("the body could not be read")]
    Failed(#[source] BoxError),
}

impl BodyError {
    /// The status to answer with: 413 for a body too large, 400 for one that failed.
    pub fn http_status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Failed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads a whole body of at most `limit` bytes.
///
/// A `Content-Length` in `headers` above the limit is refused before a byte is read; a body
/// that turns out longer is refused as soon as it passes the limit. Either is
/// [`BodyError::TooLarge`]; a body that fails is [`BodyError::Failed`].
pub async fn read_limited<B>(body: B, limit: usize, headers: &HeaderMap) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(err) => Err(BodyError::Failed(err)),
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;
    use http_body_util::Full;

    use super::*;

    /// A body that yields one chunk, then fails.
    struct Broken(bool);

    impl Body for Broken {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.0 {
                return Poll::Ready(Some(Err(std::io::Error::other("reset"))));
            }
            self.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from("ab")))))
        }
    }

    #[tokio::test]
    async fn too_large_and_failing_bodies_are_told_apart() {
        let none = HeaderMap::new();
        let ok = read_limited(Full::new(Bytes::from("abc")), 3, &none).await;
        assert_eq!(ok.expect("fits"), "abc");
        let long = read_limited(Full::new(Bytes::from("abcd")), 3, &none).await;
        assert!(matches!(long, Err(BodyError::TooLarge { limit: 3 })));
        let failed = read_limited(Broken(false), 10, &none)
            .await
            .expect_err("fails");
        assert_eq!(failed.http_status(), StatusCode::BAD_REQUEST);
        assert!(matches!(failed, BodyError::Failed(_)));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_unread() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, "999".parse().expect("value"));
        // The body would fail if read: the refusal comes first.
        let err = read_limited(Broken(true), 10, &headers)
            .await
            .expect_err("refused");
        assert!(matches!(err, BodyError::TooLarge { limit: 10 }));
        assert_eq!(err.http_status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
