use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::Service;

use agent_gateway_core::BoxError;

use super::script::Script;
use super::wire::{Format, render};

/// A fake LLM provider: an HTTP service answering each request with the next queued
/// [`Script`] (or the default one), in the wire format of the request path.
///
/// Clones share the queue and the record of requests, so a test keeps one clone to script and
/// inspect while another sits under the stack.
#[derive(Debug, Clone)]
pub struct FakeProvider {
    state: Arc<Mutex<State>>,
    live: Arc<AtomicUsize>,
}

/// Counts one call as live until its future, or the body it answered with, is dropped.
#[derive(Debug)]
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Script>,
    default: Script,
    requests: std::collections::VecDeque<RecordedRequest>,
    /// The body bytes of the requests kept.
    recorded_bytes: usize,
    max_recorded_bytes: usize,
    calls: usize,
}

/// How many requests a [`FakeProvider`] keeps for [`FakeProvider::requests`].
pub const MAX_RECORDED: usize = 1024;

/// How many request body bytes a [`FakeProvider`] keeps, all requests together, unless
/// [`with_max_recorded_bytes`](FakeProvider::with_max_recorded_bytes) says otherwise: 16 MiB,
/// plenty for a test, and a bound for a fake left serving a bench or a demo for hours.
pub const MAX_RECORDED_BYTES: usize = 16 * 1024 * 1024;

/// A request the fake provider received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The request path.
    pub path: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body as JSON (`null` if it was not JSON, or larger than the fake keeps).
    pub body: Value,
    /// The size of the request body, in bytes.
    pub size: usize,
    /// The body bytes this record counts against the bound: `size`, or 0 if not kept.
    kept: usize,
}

impl Default for FakeProvider {
    fn default() -> Self {
        FakeProvider::new()
    }
}

impl FakeProvider {
    /// A fake answering `Hello from the fake provider.` (10 input, 5 output tokens) until
    /// scripted otherwise.
    pub fn new() -> Self {
        FakeProvider {
            state: Arc::new(Mutex::new(State {
                queue: VecDeque::new(),
                default: Script::text("Hello from the fake provider."),
                requests: std::collections::VecDeque::new(),
                recorded_bytes: 0,
                max_recorded_bytes: MAX_RECORDED_BYTES,
                calls: 0,
            })),
            live: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `script` for the next request without one.
    pub fn push(self, script: Script) -> Self {
        self.lock().queue.push_back(script);
        self
    }

    /// Sets the answer used once the queue is empty.
    pub fn with_default(self, script: Script) -> Self {
        self.lock().default = script;
        self
    }

    /// Keeps at most `bytes` of request bodies, all recorded requests together: the oldest
    /// are forgotten first, and a body larger than `bytes` alone is recorded as `null` (its
    /// [`size`](RecordedRequest::size) is kept).
    pub fn with_max_recorded_bytes(self, bytes: usize) -> Self {
        self.lock().max_recorded_bytes = bytes;
        self
    }

    /// The body bytes of the requests currently recorded: at most the configured bound.
    pub fn recorded_bytes(&self) -> usize {
        self.lock().recorded_bytes
    }

    /// How many requests arrived.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Calls still alive: a request whose answer is being prepared (its future not yet
    /// dropped), or an answer whose body has not been dropped. A cancelled call drops both.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// The requests received, in order: the last [`MAX_RECORDED`] of them, within
    /// [`MAX_RECORDED_BYTES`] of bodies, so that a fake serving a demo or a bench for hours
    /// does not grow without bound.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }
}

impl<B> Service<Request<B>> for FakeProvider
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<FakeBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<FakeBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let state = self.state.clone();
        let live = Live::new(&self.live);
        let counter = self.live.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let path = parts.uri.path().to_owned();
            let script = {
                let fake = FakeProvider {
                    state,
                    live: counter,
                };
                let mut s = fake.lock();
                s.calls += 1;
                let size = bytes.len();
                let kept = if size <= s.max_recorded_bytes {
                    size
                } else {
                    0
                };
                while s.requests.len() == MAX_RECORDED
                    || (!s.requests.is_empty() && s.recorded_bytes + kept > s.max_recorded_bytes)
                {
                    if let Some(old) = s.requests.pop_front() {
                        s.recorded_bytes -= old.kept.min(s.recorded_bytes);
                    }
                }
                s.recorded_bytes += kept;
                s.requests.push_back(RecordedRequest {
                    path: path.clone(),
                    headers: parts.headers,
                    body: if kept == size {
                        json.clone()
                    } else {
                        Value::Null
                    },
                    size,
                    kept,
                });
                let default = s.default.clone();
                s.queue.pop_front().unwrap_or(default)
            };
            if !script.delay.is_zero() {
                tokio::time::sleep(script.delay).await;
            }
            let format = if path.ends_with("/messages") {
                Format::Messages
            } else if path.ends_with("/responses") {
                Format::Responses
            } else {
                Format::Chat
            };
            let answer = render(&script, format, &json);
            let mut res = Response::new(FakeBody {
                frames: answer.frames.into(),
                fail_after: script.fail_after,
                stall_after: script.stall_after,
                yielded: false,
                _live: live,
            });
            *res.status_mut() =
                StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = if answer.stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            for (name, value) in answer.headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    res.headers_mut()
                        .insert(HeaderName::from_static(name), value);
                }
            }
            Ok(res)
        })
    }
}

/// The fake provider's body: one frame per SSE event, so streams arrive in pieces.
#[derive(Debug)]
pub struct FakeBody {
    frames: VecDeque<Bytes>,
    fail_after: Option<usize>,
    /// Frames left before the body goes silent for good.
    stall_after: Option<usize>,
    /// Whether the body has yielded once before failing.
    yielded: bool,
    _live: Live,
}

/// The connection reset a scripted body fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fake provider: connection reset mid-body")]
pub struct FakeReset;

impl Body for FakeBody {
    type Data = Bytes;
    type Error = FakeReset;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, FakeReset>>> {
        match &mut self.stall_after {
            // Silent, connection open: never ready again (nothing will wake it).
            Some(0) => return Poll::Pending,
            Some(n) => *n -= 1,
            None => {}
        }
        let yielded = self.yielded;
        match &mut self.fail_after {
            Some(0) if !yielded => {
                // Served on a socket, the server sends what it has before the reset.
                self.yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(0) => {
                self.fail_after = None;
                self.frames.clear();
                Poll::Ready(Some(Err(FakeReset)))
            }
            Some(n) => {
                *n -= 1;
                Poll::Ready(self.frames.pop_front().map(|b| Ok(Frame::data(b))))
            }
            None => Poll::Ready(self.frames.pop_front().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.fail_after.is_none() && self.stall_after.is_none()
    }
}
