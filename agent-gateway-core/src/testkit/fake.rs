use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use tower::Service;

/// A shared count of calls.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    /// How many calls were counted.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fake upstream: answers each request with a closure and counts the calls.
///
/// Clones share the count, so a test keeps one clone and puts the other behind the stack
/// under test, then asserts whether the request got through.
pub struct FakeUpstream<F> {
    respond: Arc<F>,
    calls: CallCounter,
}

impl<F> Clone for FakeUpstream<F> {
    fn clone(&self) -> Self {
        FakeUpstream {
            respond: self.respond.clone(),
            calls: self.calls.clone(),
        }
    }
}

impl<F> fmt::Debug for FakeUpstream<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeUpstream")
            .field("calls", &self.calls.get())
            .finish_non_exhaustive()
    }
}

impl<F> FakeUpstream<F> {
    /// A fake that answers each request with `respond(request)`.
    pub fn new(respond: F) -> Self {
        FakeUpstream {
            respond: Arc::new(respond),
            calls: CallCounter::default(),
        }
    }

    /// How many requests reached this fake.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// The shared counter.
    pub fn counter(&self) -> CallCounter {
        self.calls.clone()
    }
}

impl FakeUpstream<()> {
    /// A fake HTTP upstream answering every request with `status` and the JSON `body`.
    pub fn json<Req>(
        status: StatusCode,
        body: Value,
    ) -> FakeUpstream<impl Fn(Req) -> Result<Response<Full<Bytes>>, Infallible>> {
        let body = Bytes::from(body.to_string());
        FakeUpstream::new(move |_req: Req| {
            let mut res = Response::new(Full::new(body.clone()));
            *res.status_mut() = status;
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(res)
        })
    }
}

impl<F, Req, Resp, E> Service<Req> for FakeUpstream<F>
where
    F: Fn(Req) -> Result<Resp, E>,
{
    type Response = Resp;
    type Error = E;
    type Future = Ready<Result<Resp, E>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.calls.bump();
        ready((self.respond)(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn counts_across_clones_and_passes_errors() {
        let fake = FakeUpstream::new(|n: u32| if n > 1 { Ok(n * 2) } else { Err("too small") });
        let kept = fake.clone();
        assert_eq!(fake.clone().oneshot(4).await, Ok(8));
        assert_eq!(fake.oneshot(1).await, Err("too small"));
        assert_eq!(kept.calls(), 2);
        assert_eq!(kept.counter().get(), 2);
    }
}
