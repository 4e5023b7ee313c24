use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::Slot;

pin_project! {
    /// A response body that keeps its caller's stream slot until it ends or is dropped, and
    /// (for an event stream) ends cleanly at the maximum lifetime.
    pub struct LimitedBody<B> {
        #[pin]
        inner: B,
        slot: Option<Slot>,
        #[pin]
        deadline: Option<Sleep>,
        ended: bool,
    }
}

impl<B> LimitedBody<B> {
    /// `inner`, counted against no caller and never cut: for responses made outside the
    /// limit, such as an outer layer's refusal.
    pub fn uncounted(inner: B) -> Self {
        LimitedBody::new(inner, None, None)
    }

    pub(super) fn new(inner: B, slot: Option<Slot>, deadline: Option<Sleep>) -> Self {
        LimitedBody {
            inner,
            slot,
            deadline,
            ended: false,
        }
    }
}

impl<B: fmt::Debug> fmt::Debug for LimitedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedBody")
            .field("inner", &self.inner)
            .field("counted", &self.slot.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for LimitedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            if frame.is_none() {
                *this.ended = true;
                this.slot.take();
            }
            return Poll::Ready(frame);
        }
        if let Some(deadline) = this.deadline.as_mut().as_pin_mut()
            && deadline.poll(cx).is_ready()
        {
            tracing::debug!("event stream reached its maximum lifetime");
            *this.ended = true;
            this.slot.take();
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
