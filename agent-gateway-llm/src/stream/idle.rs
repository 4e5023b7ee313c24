//! A body that fails when its upstream goes silent for too long (finding 7).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep};

use agent_gateway_core::BoxError;
use agent_gateway_core::response::{Failure, UpstreamError};

use crate::error::UpstreamTimeout;

pin_project! {
    /// Relays `inner` unchanged, and fails with [`UpstreamTimeout`] (phase `"stream"`) when no
    /// frame has come for `idle`, tagged as the upstream's [`Failure::Timeout`] (an
    /// [`UpstreamError`], so the stream's usage report and its audit record say `timeout`):
    /// a provider that stalls mid-stream ends the client's stream
    /// (with its dialect's error event, through
    /// [`RenderStreamError`](super::RenderStreamError)) instead of holding it open forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agent_gateway_core::error::cause_ref;
    /// use agent_gateway_core::response::{Failure, UpstreamError};
    /// use agent_gateway_llm::error::UpstreamTimeout;
    /// use agent_gateway_llm::stream::IdleTimeout;
    /// use std::pin::Pin;
    /// use std::task::{Context, Poll};
    /// use bytes::Bytes;
    /// use http_body::{Body, Frame};
    /// use http_body_util::{BodyExt, Full};
    ///
    /// /// A provider that sent its headers and then nothing.
    /// struct Silent;
    /// impl Body for Silent {
    ///     type Data = Bytes;
    ///     type Error = std::convert::Infallible;
    ///     fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>)
    ///         -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> { Poll::Pending }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
    /// // A body that answers at once passes.
    /// let ok = IdleTimeout::new(Full::new(Bytes::from("data: x\n\n")), Duration::from_secs(5));
    /// assert_eq!(ok.collect().await.unwrap().to_bytes(), "data: x\n\n");
    /// // A silent one fails after the idle time (paused clock: no real wait).
    /// let err = IdleTimeout::new(Silent, Duration::from_secs(5)).collect().await.unwrap_err();
    /// assert!(cause_ref::<UpstreamTimeout>(&*err).is_some());
    /// assert_eq!(Failure::of(&*err), Failure::Timeout);
    /// # });
    /// ```
    #[derive(Debug)]
    pub struct IdleTimeout<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        idle: Duration,
        done: bool,
    }
}

impl<B> IdleTimeout<B> {
    /// Wraps `inner`, failing after `idle` without a frame.
    pub fn new(inner: B, idle: Duration) -> Self {
        IdleTimeout {
            inner,
            sleep: sleep(idle),
            idle,
            done: false,
        }
    }
}

impl<B> Body for IdleTimeout<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(frame)) => {
                let next = Instant::now()
                    .checked_add(*this.idle)
                    .unwrap_or_else(Instant::now);
                this.sleep.as_mut().reset(next);
                Poll::Ready(Some(frame.map_err(Into::into)))
            }
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                std::task::ready!(this.sleep.poll(cx));
                *this.done = true;
                let timed_out = UpstreamTimeout {
                    phase: "stream",
                    after: *this.idle,
                };
                Poll::Ready(Some(Err(
                    UpstreamError::new(Failure::Timeout, timed_out).into()
                )))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
