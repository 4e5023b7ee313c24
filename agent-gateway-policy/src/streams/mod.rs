//! Per-caller stream limits: how many responses one caller may hold open at once, and how long
//! an event stream may last.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::{Denied, Secret};
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, PreAuthLayer, Principal};
//! use agent_gateway_policy::streams::{LimitedBody, StreamLimitLayer};
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let render = |_: &http::request::Parts, d: &Denied| {
//!     let mut res = Response::new(Full::new(Bytes::from(d.message().to_owned())));
//!     *res.status_mut() = d.http_status();
//!     res
//! };
//! let auth = AuthLayer::new(ApiKeys::new().with_key(Secret::new("sk-alice-0123456789".into()), Principal::new("alice")));
//! let svc = ServiceBuilder::new()
//!     // An outer layer's answers are not counted.
//!     .layer(PreAuthLayer::new(&auth, move |h: &_, d: &_| render(h, d).map(LimitedBody::uncounted)))
//!     .layer(StreamLimitLayer::new(1, render))
//!     .service(service_fn(|_: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("stream"))))
//!     }));
//! let req = || Request::get("/").header("x-api-key", "sk-alice-0123456789").body(()).unwrap();
//!
//! // Allowed: alice's first response, held open (its body is not read yet).
//! let open = svc.clone().oneshot(req()).await.unwrap();
//! assert_eq!(open.status(), 200);
//! // Denied: a second one while the first is open.
//! assert_eq!(svc.clone().oneshot(req()).await.unwrap().status(), 429);
//! // Once the first body is gone, alice may open another.
//! drop(open);
//! assert_eq!(svc.oneshot(req()).await.unwrap().status(), 200);
//! # }
//! ```
//!
//! # Why
//!
//! A response is cheap to ask for and can be expensive to hold: an SSE stream (MCP `GET`
//! streams, `subscriptions/listen`, A2A subscriptions, LLM streams) keeps a connection, a task
//! and upstream state alive for as long as the client wants. The server's connection cap is
//! shared by everyone, so one caller opening thousands of streams would starve the others. The
//! limit counts every response of a caller (by
//! [`principal_id`](agent_gateway_core::Caller::principal_id), established by
//! [`PreAuth`](crate::auth::PreAuth) before this layer) from the request until its body ends or
//! is dropped; the next one over the limit gets a 429.
//!
//! An event stream (`Content-Type: text/event-stream`) also ends, cleanly, once it has lasted
//! the maximum lifetime ([`DEFAULT_MAX_STREAM_LIFETIME`] unless set): clients of every
//! protocol here reconnect or resume, and a held stream cannot outlive it. Other bodies are
//! never cut, since a truncated JSON document is worse than a late one.
//!
//! Requests without an established caller pass uncounted: put [`PreAuth`](crate::auth::PreAuth)
//! in front. Anonymous callers (optional auth) share one count.

mod body;
pub mod future;
mod layer;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::Denied;
use agent_gateway_core::render::RenderDenial;
use http::{Request, Response};
use tower::Service;

pub use self::body::LimitedBody;
pub use self::layer::StreamLimitLayer;

use crate::auth::Authenticated;

/// Responses one caller may hold open at once: 64. Far more than an agent's concurrent tool
/// calls and streams; far fewer than the server's connection cap, so one caller cannot fill it.
pub const DEFAULT_STREAMS_PER_CALLER: usize = 64;

/// How long an event stream may last: one hour. Longer than any model response or tool call;
/// a listening client reconnects after it.
pub const DEFAULT_MAX_STREAM_LIFETIME: Duration = Duration::from_secs(3600);

/// How long a refused client is told to wait: a stream of its own must end first, which the
/// gateway cannot predict, so a short, fixed hint.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Open responses per caller.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<String, usize>>);

impl Counts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more response of `key`, unless it already holds `max`.
    fn acquire(self: &Arc<Self>, key: String, max: usize) -> Option<Slot> {
        let mut counts = self.lock();
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: Arc::clone(self),
            key,
        })
    }
}

/// One counted response; released when dropped (the body ended or was dropped).
pub(crate) struct Slot {
    counts: Arc<Counts>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

/// Limits each caller's open responses and the lifetime of event streams; built by
/// [`StreamLimitLayer`]. See the [module docs](self).
pub struct StreamLimit<S, R> {
    inner: S,
    counts: Arc<Counts>,
    per_caller: usize,
    max_lifetime: Duration,
    render: Arc<R>,
}

impl<S, R> StreamLimit<S, R> {
    /// A reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, R> Clone for StreamLimit<S, R> {
    fn clone(&self) -> Self {
        StreamLimit {
            inner: self.inner.clone(),
            counts: Arc::clone(&self.counts),
            per_caller: self.per_caller,
            max_lifetime: self.max_lifetime,
            render: Arc::clone(&self.render),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for StreamLimit<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamLimit")
            .field("inner", &self.inner)
            .field("per_caller", &self.per_caller)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl<S, R, B, RB> Service<Request<B>> for StreamLimit<S, R>
where
    S: Service<Request<B>, Response = Response<RB>>,
    R: RenderDenial<RB>,
{
    type Response = Response<LimitedBody<RB>>;
    type Error = S::Error;
    type Future = future::ResponseFuture<S::Future, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let key = req
            .extensions()
            .get::<Authenticated>()
            .map(|a| a.caller().principal_id());
        let slot = match key {
            None => None,
            Some(key) => match self.counts.acquire(key.to_owned(), self.per_caller) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!("per-caller stream limit reached");
                    let (head, _) = req.into_parts();
                    let denied = Denied::quota_exceeded(RETRY_AFTER)
                        .with_message("too many open streams for this caller");
                    let res = self.render.render(&head, &denied);
                    return future::ResponseFuture::refused(res);
                }
            },
        };
        future::ResponseFuture::new(self.inner.call(req), slot, self.max_lifetime)
    }
}

#[cfg(test)]
mod tests;
