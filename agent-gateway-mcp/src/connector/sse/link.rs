//! One open SSE stream: the requests in flight on it by id, the task that reads it, and the
//! POSTs that carry our messages to its endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::Message;
use agent_gateway_core::sse::Decoder;
use agent_gateway_core::transport::HttpTransport;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;
use tower::{Service, ServiceExt};

use super::Shared;
use super::endpoint::resolve;
use super::error::SseUpstreamError;
use crate::connector::changes::{Change, is_change};
use crate::connector::mux::Pending;
use crate::notify::{MESSAGE, PROGRESS};

/// The most bytes read from the body of an answer to a POST (normally `Accepted`).
const MAX_POST_ANSWER: usize = 64 * 1024;

/// The requests in flight on one stream; `None` once the stream is gone, so that nothing
/// waits on it any more.
pub(super) struct Inflight(Mutex<Option<HashMap<i64, Pending>>>);

impl Inflight {
    pub(super) fn new() -> Self {
        Inflight(Mutex::new(Some(HashMap::new())))
    }

    pub(super) fn is_open(&self) -> bool {
        self.0.lock().is_ok_and(|m| m.is_some())
    }

    /// Registers request `id`; an error when the stream is already gone.
    pub(super) fn insert(&self, id: i64, pending: Pending) -> Result<(), SseUpstreamError> {
        let mut map = self.0.lock().map_err(|_| SseUpstreamError::Lost)?;
        map.as_mut()
            .ok_or(SseUpstreamError::Lost)?
            .insert(id, pending);
        Ok(())
    }

    /// Forgets request `id`; whether it was still in flight.
    pub(super) fn remove(&self, id: i64) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|mut m| m.as_mut().and_then(|m| m.remove(&id)))
            .is_some()
    }

    /// Closes: every request in flight fails at once with [`SseUpstreamError::Lost`].
    pub(super) fn close(&self) {
        let taken = self.0.lock().ok().and_then(|mut m| m.take());
        for (_, p) in taken.into_iter().flatten() {
            let _ = p.answer.send(Err(Box::new(SseUpstreamError::Lost)));
        }
    }
}

/// One connected stream: where to POST, and its requests in flight.
pub(super) struct Link {
    pub(super) endpoint: Uri,
    pub(super) inflight: Arc<Inflight>,
    pub(super) reader: AbortHandle,
}

impl Link {
    /// Drops the stream: its reader stops, and every request in flight fails at once.
    pub(super) fn close(&self) {
        self.reader.abort();
        self.inflight.close();
    }
}

/// POSTs one message to `uri`; the status. The answer's body is read (bounded) and dropped.
pub(super) async fn post<C, B>(
    client: C,
    uri: &Uri,
    authorization: Option<&HeaderValue>,
    message: Vec<u8>,
) -> Result<StatusCode, BoxError>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>>,
    C::Error: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut req = Request::post(uri.clone()).body(Full::new(Bytes::from(message)))?;
    let h = req.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(a) = authorization {
        let mut a = a.clone();
        a.set_sensitive(true);
        h.insert(AUTHORIZATION, a);
    }
    let res = client.oneshot(req).await.map_err(Into::into)?;
    let status = res.status();
    let _ = Limited::new(res.into_body(), MAX_POST_ANSWER)
        .collect()
        .await;
    Ok(status)
}

/// What the reader needs besides the stream: where it came from and how to answer the
/// server's own requests.
pub(super) struct Reader<C> {
    pub(super) client: C,
    pub(super) base: Uri,
    pub(super) authorization: Option<HeaderValue>,
    pub(super) max_event_size: usize,
    /// How long the stream may carry nothing before it is taken for dead.
    pub(super) idle: std::time::Duration,
    pub(super) inflight: Arc<Inflight>,
    pub(super) shared: Weak<Shared>,
    pub(super) stop: watch::Receiver<()>,
}

/// Closes the stream's requests however the reader ends, aborted included.
struct OnEnd {
    inflight: Arc<Inflight>,
    shared: Weak<Shared>,
}

impl Drop for OnEnd {
    fn drop(&mut self) {
        self.inflight.close();
        if let Some(shared) = self.shared.upgrade() {
            shared.lost(&self.inflight);
            // The listens' subscriptions went with the stream (nobody listening is fine).
            let _ = shared.changes.send(Change::Down);
        }
    }
}

impl<C> Reader<C>
where
    C: HttpTransport,
{
    /// Reads the stream until it ends, fails, or the last handle is dropped. The first
    /// `endpoint` event, resolved and checked, goes to `endpoint`.
    pub(super) async fn run(
        mut self,
        body: C::ResBody,
        endpoint: oneshot::Sender<Result<Uri, SseUpstreamError>>,
    ) {
        let _end = OnEnd {
            inflight: self.inflight.clone(),
            shared: self.shared.clone(),
        };
        let mut endpoint = Some(endpoint);
        let mut posts: Option<Uri> = None;
        let mut body = std::pin::pin!(body);
        let mut decoder = Decoder::new().with_max_event_size(self.max_event_size);
        let mut events = Vec::new();
        let silent = tokio::time::sleep(self.idle);
        let mut silent = std::pin::pin!(silent);
        loop {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                _ = self.stop.changed() => return,
                // Not even a keep-alive: a dead stream; its calls fail, the next one reconnects.
                () = &mut silent => {
                    tracing::warn!(uri = %self.base, idle = ?self.idle, "mcp sse: the stream went silent");
                    return;
                }
            };
            silent
                .as_mut()
                .reset(tokio::time::Instant::now() + self.idle);
            let data = match frame {
                None => {
                    tracing::debug!(uri = %self.base, "mcp sse: the upstream ended its stream");
                    return;
                }
                Some(Err(e)) => {
                    let e: BoxError = e.into();
                    tracing::warn!(uri = %self.base, error = %e, "mcp sse: stream failed");
                    return;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
            };
            if let Err(e) = decoder.feed(&data, &mut events) {
                tracing::warn!(uri = %self.base, error = %e, "mcp sse: event too large, stream dropped");
                return;
            }
            for event in events.drain(..) {
                match event.event_type() {
                    "endpoint" => {
                        let Some(tx) = endpoint.take() else { continue };
                        let resolved = resolve(&self.base, &event.data);
                        posts = resolved.as_ref().ok().cloned();
                        let refused = resolved.is_err();
                        let _ = tx.send(resolved);
                        if refused {
                            return;
                        }
                    }
                    "message" => self.message(event.data.as_bytes(), posts.as_ref()),
                    _ => {}
                }
            }
        }
    }

    /// Handles one `message` event.
    fn message(&self, data: &[u8], posts: Option<&Uri>) {
        let Ok(message) = Message::from_slice(data) else {
            tracing::debug!(uri = %self.base, "mcp sse: skipped an event that is no JSON-RPC");
            return;
        };
        let Ok(mut guard) = self.inflight.0.lock() else {
            return;
        };
        let Some(pending) = guard.as_mut() else {
            return;
        };
        match message {
            Message::Response(r) => crate::connector::mux::settle(pending, r),
            Message::Notification(n) if n.method == PROGRESS => {
                crate::connector::mux::progress(pending, n.params_object());
            }
            Message::Notification(n) if n.method == MESSAGE => {
                // The transport names no request a log message is about: it goes to the call
                // its `_meta` names, else to the only call in flight (it can then only be about
                // that one, or the server itself); otherwise it could be any client's, so it
                // goes to the log only.
                let params = n.params_object();
                match crate::connector::mux::related_call(pending, &params)
                    .and_then(|call| call.notifier.as_ref())
                {
                    Some(notifier) => {
                        notifier.try_notify(MESSAGE, params);
                    }
                    None => {
                        let log = Value::Object(params);
                        tracing::info!(uri = %self.base, %log, "mcp sse: upstream log");
                    }
                }
            }
            Message::Notification(n) if is_change(&n.method) => {
                if let Some(shared) = self.shared.upgrade() {
                    // Nobody listening is fine.
                    let params = n.params_object();
                    let _ = shared.changes.send(Change::Note((n.method, params)));
                }
            }
            Message::Notification(_) => {}
            Message::Request(r) => {
                // The transport names no request a server's request relates to: it goes only to a
                // call proven to own it (one named in `_meta`, or the only call in flight), when
                // that call's client can be asked (a legacy client is sent it, a modern one gets it
                // as `input_required`), and is refused otherwise (finding 20).
                let asked =
                    crate::connector::mux::owning_call(pending, &r.method, &r.params_object());
                let Some(uri) = posts.cloned() else { return };
                let client = self.client.clone();
                let auth = self.authorization.clone();
                tokio::spawn(async move {
                    let reply = crate::notify::answer_request(asked.as_ref(), r).await;
                    let _ = post(client, &uri, auth.as_ref(), reply.to_vec()).await;
                });
            }
        }
    }
}
