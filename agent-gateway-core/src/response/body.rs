use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::{Failure, Outcome, UsageReport};
use crate::{BoxError, Usage};

/// Watches the bytes of a stream pass by and works out its usage.
///
/// An LLM meter decodes SSE events as they pass and picks the usage out of the last ones; an
/// MCP or A2A meter counts steps. It sees each data chunk once, in order, and never holds the
/// stream back.
pub trait Meter: Send + 'static {
    /// Sees one chunk of the body.
    fn observe(&mut self, chunk: &Bytes);

    /// The usage seen so far; called once, when the body ends or is dropped.
    fn finish(&mut self) -> Usage;
}

/// A meter that sees nothing and reports a fixed usage.
#[derive(Debug, Clone, Default)]
pub struct NoMeter(pub Usage);

impl Meter for NoMeter {
    fn observe(&mut self, _chunk: &Bytes) {}

    fn finish(&mut self) -> Usage {
        std::mem::take(&mut self.0)
    }
}

impl<F> Meter for F
where
    F: FnMut(&Bytes) + Send + 'static,
{
    fn observe(&mut self, chunk: &Bytes) {
        self(chunk)
    }

    fn finish(&mut self) -> Usage {
        Usage::default()
    }
}

pin_project! {
    /// A body that relays its inner body unchanged, frame for frame, and completes a
    /// [`UsageReport`] when it ends.
    ///
    /// The end is the inner body's last frame ([`Outcome::Complete`]), an error from it
    /// ([`Outcome::Failed`], the upstream's side; classified by [`Failure::of`] when the error
    /// is a [`BoxError`]), or the body being dropped early ([`Outcome::Aborted`], the client went
    /// away). The last two report the usage seen so far.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use agent_gateway_core::response::{MeteredBody, Outcome, UsageReport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let report = UsageReport::new();
    /// let mut seen = 0usize;
    /// let meter = move |chunk: &Bytes| seen += chunk.len();
    /// let body = MeteredBody::new(Full::new(Bytes::from("data: x\n\n")), meter, report.clone());
    /// let bytes = body.collect().await.unwrap().to_bytes();
    /// assert_eq!(bytes, "data: x\n\n"); // relayed unchanged
    /// assert_eq!(report.usage().map(|(_, o)| o), Some(Outcome::Complete));
    /// # });
    /// ```
    #[derive(Debug)]
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        state: Option<MeterState>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(mut state) = this.project().state.take() {
                state.report.complete(state.meter.finish(), Outcome::Aborted);
            }
        }
    }
}

struct MeterState {
    // Boxed so that the drop path, which cannot name trait bounds, can still finish it.
    meter: Box<dyn Meter>,
    report: UsageReport,
}

impl std::fmt::Debug for MeterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeterState")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl<B> MeteredBody<B> {
    /// Wraps `inner`, showing each data chunk to `meter` and completing `report` at the end.
    pub fn new(inner: B, meter: impl Meter, report: UsageReport) -> Self {
        MeteredBody {
            inner,
            state: Some(MeterState {
                meter: Box::new(meter),
                report,
            }),
        }
    }
}

/// The failure an inner body's error stands for.
fn failure<E: 'static>(error: &E) -> Failure {
    let any: &dyn std::any::Any = error;
    any.downcast_ref::<BoxError>()
        .map_or(Failure::Upstream, |e| Failure::of(e.as_ref()))
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: 'static,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = std::task::ready!(this.inner.poll_frame(cx));
        let outcome = match &polled {
            Some(Ok(frame)) => {
                if let (Some(data), Some(state)) = (frame.data_ref(), this.state.as_mut()) {
                    state.meter.observe(data);
                }
                None
            }
            Some(Err(e)) => Some(Outcome::Failed(failure(e))),
            None => Some(Outcome::Complete),
        };
        if let Some(outcome) = outcome
            && let Some(mut state) = this.state.take()
        {
            state.report.complete(state.meter.finish(), outcome);
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::convert::Infallible;

    struct CountChunks(u64);
    impl Meter for CountChunks {
        fn observe(&mut self, _chunk: &Bytes) {
            self.0 += 1;
        }
        fn finish(&mut self) -> Usage {
            Usage::tokens(0, self.0)
        }
    }

    /// A body yielding `n` small data frames, one per poll.
    struct Chunks(std::collections::VecDeque<Bytes>);
    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn chunks(n: usize) -> Chunks {
        Chunks((0..n).map(|i| Bytes::from(format!("c{i}"))).collect())
    }

    #[tokio::test]
    async fn complete_stream_reports_once_with_all_chunks() {
        let report = UsageReport::new();
        let body = MeteredBody::new(chunks(3), CountChunks(0), report.clone());
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(out, "c0c1c2");
        assert_eq!(
            report.usage(),
            Some((Usage::tokens(0, 3), Outcome::Complete))
        );
    }

    #[tokio::test]
    async fn dropped_stream_reports_aborted_with_partial_usage() {
        let report = UsageReport::new();
        let mut body = Box::pin(MeteredBody::new(chunks(5), CountChunks(0), report.clone()));
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "c0");
        assert!(report.usage().is_none());
        drop(body);
        assert_eq!(
            report.usage(),
            Some((Usage::tokens(0, 1), Outcome::Aborted))
        );
    }

    /// Relays its chunks, then fails with its error.
    struct Failing(std::collections::VecDeque<Bytes>, Option<crate::BoxError>);

    impl Body for Failing {
        type Data = Bytes;
        type Error = crate::BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, crate::BoxError>>> {
            Poll::Ready(match self.0.pop_front() {
                Some(b) => Some(Ok(Frame::data(b))),
                None => self.1.take().map(Err),
            })
        }
    }

    #[tokio::test]
    async fn a_stream_failing_upstream_reports_failed_with_its_kind_and_partial_usage() {
        let timeout: crate::BoxError = Box::new(crate::upstream::timeout::Elapsed::new());
        for (error, kind) in [
            (timeout, Failure::Timeout),
            ("connection reset".into(), Failure::Upstream),
        ] {
            let report = UsageReport::new();
            let upstream = Failing([Bytes::from("c0")].into(), Some(error));
            let body = MeteredBody::new(upstream, CountChunks(0), report.clone());
            assert!(body.collect().await.is_err());
            assert_eq!(
                report.usage(),
                Some((Usage::tokens(0, 1), Outcome::Failed(kind)))
            );
        }
    }
}
