//! The waits on an agent instance, each bounded: the response headers, and the gap between
//! two chunks of its body (a stream that goes silent). The connect wait is the connector's
//! (see [`http_connector_with`](super::http_connector_with)).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::BoxError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep};

/// The default wait for an agent's response headers: 30 s. A blocking `SendMessage` returns
/// only when its task is done or interrupted, so this bounds a whole unary call; an operator
/// whose agents work longer raises it, or has clients use streaming or `returnImmediately`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default longest silence inside an agent's stream: 5 minutes. Agents send status
/// updates as they work, but a long tool call may keep one quiet for minutes; an hour-long
/// silence is a stuck agent holding a socket.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The default connect timeout of [`http_connector`](super::http_connector): 5 s, far above a
/// healthy connect inside a network, short enough to fail a new message over to another
/// instance while its client still waits.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default wait for an agent card: 5 s. A card is small; a slow card must not hold
/// discovery, and a stale cached card is served when a refetch times out.
pub const DEFAULT_CARD_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the gateway waits on an agent's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) response: Duration,
    pub(crate) stream_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            response: DEFAULT_TIMEOUT,
            stream_idle: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }
}

/// An agent's body went silent for longer than the stream idle timeout.
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error("the agent's stream was idle for too long")]
pub struct StreamIdle;

pin_project! {
    /// A body that fails with [`StreamIdle`] when no frame arrives within `idle`.
    pub(crate) struct IdleTimeout<B> {
        #[pin]
        inner: B,
        #[pin]
        timer: Sleep,
        idle: Duration,
    }
}

impl<B> fmt::Debug for IdleTimeout<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimeout")
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl<B> IdleTimeout<B> {
    pub(crate) fn new(inner: B, idle: Duration) -> Self {
        IdleTimeout {
            inner,
            timer: sleep(idle),
            idle,
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
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                let idle = *this.idle;
                this.timer.as_mut().reset(Instant::now() + idle);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.timer.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(StreamIdle)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
