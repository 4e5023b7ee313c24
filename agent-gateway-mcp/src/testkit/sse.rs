//! An in-process MCP server on the legacy HTTP+SSE transport (2024-11-05), over any upstream
//! service: for testing the SSE connector with no ports.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{
    ErrorObject, Id, Message, Notification, Response as RpcResponse,
};
use agent_gateway_core::sse::Event;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tower::{Service, ServiceExt};

use crate::McpError;
use crate::notify::{Notifier, Outgoing};
use crate::upstream::UpstreamRequest;

type Body = BoxBody<Bytes, Infallible>;

struct State {
    endpoint: String,
    sessions: Mutex<HashMap<u64, mpsc::UnboundedSender<Bytes>>>,
    forgotten: Mutex<Vec<mpsc::UnboundedSender<Bytes>>>,
    next_session: AtomicU64,
    streams: Mutex<Vec<HeaderMap>>,
    posts: Mutex<Vec<(HeaderMap, Value)>>,
    posted: watch::Sender<usize>,
}

/// An MCP server on the legacy HTTP+SSE transport, as an HTTP service: `GET` (any path) opens
/// a stream whose first event names `<endpoint>?session_id=<n>`; a POST there is answered
/// `202 Accepted` and its answer comes as a `message` event on that session's stream.
///
/// `initialize` and `ping` are answered here (protocol version 2024-11-05); any other request
/// goes to the inner upstream service, with a [`Notifier`] whose progress and log messages go
/// out on the stream before the answer.
pub struct LegacySseServer<S> {
    inner: S,
    state: Arc<State>,
}

impl<S: Clone> Clone for LegacySseServer<S> {
    fn clone(&self) -> Self {
        LegacySseServer {
            inner: self.inner.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S> fmt::Debug for LegacySseServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacySseServer")
            .field("endpoint", &self.state.endpoint)
            .field("open_streams", &self.open_streams())
            .finish_non_exhaustive()
    }
}

impl<S> LegacySseServer<S> {
    /// A server answering with `inner`; its endpoint is `/messages`.
    pub fn new(inner: S) -> Self {
        LegacySseServer {
            inner,
            state: Arc::new(State {
                endpoint: "/messages".into(),
                sessions: Mutex::default(),
                forgotten: Mutex::default(),
                next_session: AtomicU64::new(1),
                streams: Mutex::default(),
                posts: Mutex::default(),
                posted: watch::channel(0).0,
            }),
        }
    }

    /// Names `endpoint` (relative, or an absolute URL) in the `endpoint` event instead. A fresh
    /// server state.
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        let mut server = LegacySseServer::new(self.inner);
        if let Some(state) = Arc::get_mut(&mut server.state) {
            state.endpoint = endpoint.into();
        }
        server
    }

    /// The headers of every `GET` that opened a stream, in order.
    pub fn stream_requests(&self) -> Vec<HeaderMap> {
        self.state
            .streams
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// How many streams are open: not ended here, and still read by their client.
    pub fn open_streams(&self) -> usize {
        self.state
            .sessions
            .lock()
            .map_or(0, |s| s.values().filter(|tx| !tx.is_closed()).count())
    }

    /// Every message POSTed to a known session, with its headers, in order.
    pub fn posts(&self) -> Vec<(HeaderMap, Value)> {
        self.state
            .posts
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// The methods of the requests and notifications POSTed, in order.
    pub fn methods(&self) -> Vec<String> {
        self.posts()
            .iter()
            .filter_map(|(_, m)| m.get("method").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Waits until at least `n` messages were POSTed.
    pub async fn posted(&self, n: usize) {
        let mut rx = self.state.posted.subscribe();
        let _ = rx.wait_for(|c| *c >= n).await;
    }

    /// Sends `message` as a `message` event on every open stream.
    pub fn push(&self, message: &Value) {
        self.push_raw(&Event::new(message.to_string()).with_event("message"));
    }

    /// Sends `event` on every open stream.
    pub fn push_raw(&self, event: &Event) {
        let Ok(bytes) = event.to_bytes() else { return };
        if let Ok(sessions) = self.state.sessions.lock() {
            for tx in sessions.values() {
                let _ = tx.send(bytes.clone());
            }
        }
    }

    /// Forgets every session but keeps its stream open: POSTs to it are answered 404 from now
    /// on, as by a server that lost its session state.
    pub fn forget_sessions(&self) {
        if let (Ok(mut sessions), Ok(mut forgotten)) =
            (self.state.sessions.lock(), self.state.forgotten.lock())
        {
            forgotten.extend(sessions.drain().map(|(_, tx)| tx));
        }
    }

    /// Ends every open stream, as a server that restarts would.
    pub fn drop_streams(&self) {
        if let Ok(mut sessions) = self.state.sessions.lock() {
            sessions.clear();
        }
        if let Ok(mut forgotten) = self.state.forgotten.lock() {
            forgotten.clear();
        }
    }
}

/// A stream's body: what the session's sender sends, until it is dropped.
struct StreamBody(mpsc::UnboundedReceiver<Bytes>);

impl http_body::Body for StreamBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from_static(text.as_bytes())).boxed());
    *res.status_mut() = status;
    res
}

fn event(message: &Message) -> Bytes {
    let data = String::from_utf8_lossy(&message.to_vec()).into_owned();
    Event::new(data)
        .with_event("message")
        .to_bytes()
        .unwrap_or_default()
}

fn answer(id: Id, outcome: Result<Map<String, Value>, BoxError>) -> Message {
    let res = match outcome {
        Ok(result) => RpcResponse::success(id.clone(), &result)
            .unwrap_or_else(|_| RpcResponse::error(Some(id), ErrorObject::internal_error())),
        Err(e) => match e.downcast_ref::<McpError>() {
            Some(McpError::Upstream(obj)) => RpcResponse::error(Some(id), obj.clone()),
            _ => RpcResponse::error(Some(id), ErrorObject::internal_error()),
        },
    };
    Message::from(res)
}

impl<S> LegacySseServer<S>
where
    S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    fn open(&self, headers: HeaderMap) -> Response<Body> {
        let accepts = headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        if !accepts {
            return plain(StatusCode::NOT_ACCEPTABLE, "text/event-stream only");
        }
        if let Ok(mut streams) = self.state.streams.lock() {
            streams.push(headers);
        }
        let session = self.state.next_session.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::unbounded_channel();
        let sep = if self.state.endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let endpoint = format!("{}{sep}session_id={session}", self.state.endpoint);
        if let Ok(first) = Event::new(endpoint).with_event("endpoint").to_bytes() {
            let _ = tx.send(first);
        }
        if let Ok(mut sessions) = self.state.sessions.lock() {
            sessions.insert(session, tx);
        }
        let mut res = Response::new(BodyExt::boxed(StreamBody(rx)));
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        res
    }

    async fn post(self, headers: HeaderMap, query: Option<String>, body: Bytes) -> Response<Body> {
        let session = query.as_deref().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("session_id="))
                .and_then(|s| s.parse::<u64>().ok())
        });
        let Some(session) = session else {
            return plain(StatusCode::BAD_REQUEST, "session_id is required");
        };
        let stream = self
            .state
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(&session).cloned());
        let Some(stream) = stream else {
            return plain(StatusCode::NOT_FOUND, "Could not find session");
        };
        let Ok(message) = Message::from_slice(&body) else {
            return plain(StatusCode::BAD_REQUEST, "Could not parse message");
        };
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if let Ok(mut posts) = self.state.posts.lock() {
            posts.push((headers, json));
        }
        self.state.posted.send_modify(|c| *c += 1);
        if let Message::Request(req) = message {
            let params = match req.params.as_deref().map(|r| serde_json::from_str(r.get())) {
                Some(Ok(Value::Object(m))) => m,
                _ => Map::new(),
            };
            let inner = self.inner.clone();
            // A weak handle: dropping the session ends its stream even while calls run.
            tokio::spawn(serve(inner, stream.downgrade(), req.id, req.method, params));
        }
        plain(StatusCode::ACCEPTED, "Accepted")
    }
}

/// Answers one request on its session's stream, its notifications first.
async fn serve<S>(
    inner: S,
    stream: mpsc::WeakUnboundedSender<Bytes>,
    id: Id,
    method: String,
    params: Map<String, Value>,
) where
    S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>,
{
    let outcome = match method.as_str() {
        "initialize" => Ok(json!({
            "protocolVersion": "2024-11-05",
            "capabilities": {"tools": {}, "logging": {}},
            "serverInfo": {"name": "legacy-sse", "version": "1"},
        })
        .as_object()
        .cloned()
        .unwrap_or_default()),
        "ping" => Ok(Map::new()),
        _ => {
            let token = params
                .get("_meta")
                .and_then(|m| m.get("progressToken"))
                .cloned();
            let (notifier, mut notes) = Notifier::channel(token);
            let call =
                inner.oneshot(UpstreamRequest::new(method, params).with_notifier(Some(notifier)));
            let mut call = std::pin::pin!(call);
            let forward = |out: Outgoing| {
                if let Outgoing::Notification((method, params)) = out
                    && let Ok(n) = Notification::new(method).with_params(&params)
                    && let Some(tx) = stream.upgrade()
                {
                    let _ = tx.send(event(&Message::from(n)));
                }
            };
            let outcome = loop {
                tokio::select! {
                    biased;
                    Some(out) = notes.recv() => forward(out),
                    outcome = &mut call => break outcome,
                }
            };
            // What the call said on its way out, before its answer.
            while let Ok(out) = notes.try_recv() {
                forward(out);
            }
            outcome
        }
    };
    if let Some(tx) = stream.upgrade() {
        let _ = tx.send(event(&answer(id, outcome)));
    }
}

impl<S> Service<Request<Full<Bytes>>> for LegacySseServer<S>
where
    S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let res = match parts.method {
                Method::GET => this.open(parts.headers),
                Method::POST => {
                    let body = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    let query = parts.uri.query().map(str::to_owned);
                    this.post(parts.headers, query, body).await
                }
                _ => plain(StatusCode::METHOD_NOT_ALLOWED, "GET or POST"),
            };
            Ok(res)
        })
    }
}
