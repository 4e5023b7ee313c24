//! `subscriptions/listen` to one HTTP upstream, in the upstream's era.
//!
//! A modern upstream gets the listen as is: a POST whose SSE answer relays the acknowledgment
//! and the notifications to the request's notifier until the stream ends or the caller drops
//! the future. The era is settled first with `server/discover`, a request that ends.
//!
//! A legacy upstream has one GET stream per session and one set of `resources/subscribe`d
//! URIs per session, and the connector keeps one upstream session per client session (or per
//! set of capabilities, for clients without a session). So the listens on one upstream session
//! share a hub: one GET stream on that session (where the upstream also sends the log messages
//! it emits outside any call, relayed to listens that asked for their level), opened when the
//! first listen starts and closed when the last one goes (reopened after a capped backoff when it breaks, with a new session
//! and its subscriptions made again when the upstream forgot the session; given up when the
//! upstream answers 405, offering none), and a count of
//! listeners per URI (subscribed when the first listener wants it, unsubscribed when the
//! last one leaves). Each listen acknowledges what it holds and then relays what its filter
//! admits.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::sse::Decoder;
use agent_gateway_core::transport::HttpTransport;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tower::ServiceExt;

use super::legacy::session_key;
use super::wire::{is_event_stream, notification};
use super::{ConnectorError, HttpUpstream};
use crate::McpError;
use crate::era::Era;
use crate::listen::{ACKNOWLEDGED, ListenFilter, SUBSCRIBE, UNSUBSCRIBE};
use crate::notify::Relayed;
use crate::request::ClientHop;
use crate::upstream::UpstreamRequest;

/// The first wait before a broken GET stream is opened again.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before a broken GET stream is opened again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How many notifications wait for the slowest listener before it misses some.
const HUB_CAPACITY: usize = 64;

/// Where a legacy upstream's hubs live while anyone listens: one per upstream session (the
/// key of [`session_key`]), so each is as many as the sessions' table holds at most, and
/// forgotten when its last listener goes.
#[derive(Default)]
pub(super) struct HubSlot(Mutex<HashMap<Option<Arc<str>>, Weak<Hub>>>);

impl fmt::Debug for HubSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = lock(&self.0)
            .values()
            .filter(|h| h.strong_count() > 0)
            .count();
        f.debug_struct("HubSlot").field("open", &open).finish()
    }
}

type Counts = Arc<Mutex<HashMap<String, usize>>>;

/// One legacy GET stream shared by every listen on one upstream session.
pub(super) struct Hub {
    tx: broadcast::Sender<Relayed>,
    uris: Counts,
    task: AbortHandle,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Hub {
    /// Counts one more listener of `uri`; whether it is the first.
    fn hold(&self, uri: &str) -> bool {
        let mut uris = lock(&self.uris);
        let n = uris.entry(uri.to_owned()).or_default();
        *n += 1;
        *n == 1
    }

    /// Counts one listener of `uri` less; whether it was the last.
    fn release(&self, uri: &str) -> bool {
        let mut uris = lock(&self.uris);
        match uris.get_mut(uri) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                uris.remove(uri);
                true
            }
            None => false,
        }
    }
}

/// The URIs one listen holds on the hub, released when it goes.
struct Held {
    hub: Arc<Hub>,
    uris: Vec<String>,
    unsubscribe: Box<dyn Fn(String) + Send + Sync>,
}

impl Drop for Held {
    fn drop(&mut self) {
        for uri in self.uris.drain(..) {
            if self.hub.release(&uri) {
                (self.unsubscribe)(uri);
            }
        }
    }
}

fn uri_params(uri: &str) -> Map<String, Value> {
    Map::from_iter([("uri".to_owned(), json!(uri))])
}

impl<C> HttpUpstream<C>
where
    C: HttpTransport,
{
    /// Serves one `subscriptions/listen` request.
    pub(super) async fn listen(
        &self,
        req: UpstreamRequest,
    ) -> Result<Map<String, Value>, BoxError> {
        let mut era = match self.shared.fixed {
            Some(e) => Some(e),
            None => self.shared.state.lock().await.era,
        };
        if era.is_none() {
            self.may_probe().await?;
            let answer = self
                .probe_answer(
                    self.modern(UpstreamRequest::new("server/discover", Map::new()))
                        .await,
                )
                .await?;
            let Some(found) = super::probe::verdict(&answer) else {
                // Not an era answer: the listen fails, and a later one probes again.
                answer.into_result()?;
                return Err(Box::new(ConnectorError::Status(StatusCode::BAD_GATEWAY)));
            };
            era = Some(found);
        }
        match era {
            Some(Era::Modern) => self.modern(req).await?.into_result(),
            _ => self.legacy_listen(req).await,
        }
    }

    /// The hub of `hop`'s upstream session, opened if nobody listens on it yet.
    fn hub(&self, hop: &ClientHop) -> Arc<Hub> {
        let key = session_key(hop);
        let mut slot = lock(&self.shared.listen.0);
        if let Some(hub) = slot.get(&key).and_then(Weak::upgrade) {
            return hub;
        }
        // The hubs nobody holds any more go first.
        slot.retain(|_, h| h.strong_count() > 0);
        let (tx, _) = broadcast::channel(HUB_CAPACITY);
        let uris = Counts::default();
        let get = self.clone().get_loop(tx.clone(), uris.clone(), hop.clone());
        let task = tokio::spawn(get).abort_handle();
        let hub = Arc::new(Hub { tx, uris, task });
        slot.insert(key, Arc::downgrade(&hub));
        hub
    }

    async fn legacy_listen(&self, req: UpstreamRequest) -> Result<Map<String, Value>, BoxError> {
        let Some(notifier) = req.notifier().cloned() else {
            return Err(Box::new(McpError::InvalidParams(
                "subscriptions/listen needs a stream".into(),
            )));
        };
        let filter = ListenFilter::from_params(req.params())?;
        let hop = req.client().cloned().unwrap_or_default();
        let hub = self.hub(&hop);
        let mut events = hub.tx.subscribe();
        let this = self.clone();
        let unsubscribing = hop.clone();
        let mut held = Held {
            hub: hub.clone(),
            uris: Vec::new(),
            unsubscribe: Box::new(move |uri| {
                let Ok(rt) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let this = this.clone();
                let hop = unsubscribing.clone();
                rt.spawn(async move {
                    let req =
                        UpstreamRequest::new(UNSUBSCRIBE, uri_params(&uri)).with_client(Some(hop));
                    if let Err(e) = this.legacy(req).await {
                        tracing::debug!(error = %e, "mcp: upstream unsubscribe failed");
                    }
                });
            }),
        };
        let mut honoured = filter.lists_only();
        for uri in filter.resource_uris() {
            held.uris.push(uri.to_owned());
            if hub.hold(uri) {
                let req =
                    UpstreamRequest::new(SUBSCRIBE, uri_params(uri)).with_client(Some(hop.clone()));
                if let Err(e) = self.legacy(req).await {
                    tracing::warn!(uri, error = %e, "mcp: upstream refused a subscription");
                    held.uris.pop();
                    hub.release(uri);
                    continue;
                }
            }
            honoured = honoured.resource(uri);
        }
        let ack = Map::from_iter([("notifications".to_owned(), honoured.to_value())]);
        if !notifier.notify(ACKNOWLEDGED, ack).await {
            return Ok(Map::new());
        }
        loop {
            tokio::select! {
                () = notifier.closed() => break,
                event = events.recv() => match event {
                    Ok((method, params)) => {
                        notifier.notify(&method, params).await;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "mcp: a listener fell behind the upstream's GET stream");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        Ok(Map::new())
    }

    /// The hub's task: the GET stream of `hop`'s upstream session, opened again with a
    /// backoff whenever it ends.
    async fn get_loop(self, tx: broadcast::Sender<Relayed>, uris: Counts, hop: ClientHop) {
        let mut backoff = FIRST_BACKOFF;
        let mut renew = false;
        let mut last = None;
        loop {
            match self.get_stream(renew, &mut last, &tx, &uris, &hop).await {
                Ok(GetEnd::Forgotten) => renew = true,
                Ok(GetEnd::NoStream) => {
                    tracing::debug!("mcp: the upstream offers no GET stream");
                    return;
                }
                Ok(GetEnd::Ended) => {
                    renew = false;
                    backoff = FIRST_BACKOFF;
                }
                Err(e) => {
                    renew = false;
                    tracing::warn!(error = %e, "mcp: upstream GET stream failed");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One GET stream on `hop`'s upstream session. `last` is the session the previous
    /// one used: when the session is another (renewed, or opened anew after it went idle),
    /// the held subscriptions are made again on it. While the stream is open the session is
    /// kept from going idle.
    async fn get_stream(
        &self,
        renew: bool,
        last: &mut Option<Option<HeaderValue>>,
        tx: &broadcast::Sender<Relayed>,
        uris: &Counts,
        hop: &ClientHop,
    ) -> Result<GetEnd, BoxError> {
        let (session, version) = self.session(renew, hop).await?;
        let moved = last.as_ref().is_some_and(|prev| *prev != session);
        *last = Some(session.clone());
        if renew || moved {
            self.resubscribe(uris, hop).await;
        }
        let req = self.get_request(session, &version)?;
        let idle = self.shared.stream_idle;
        let res = tokio::time::timeout(idle, self.client.clone().oneshot(req))
            .await
            .map_err(|_| ConnectorError::Idle(idle))?
            .map_err(Into::into)?;
        let (parts, body) = res.into_parts();
        match parts.status {
            StatusCode::NOT_FOUND => return Ok(GetEnd::Forgotten),
            StatusCode::METHOD_NOT_ALLOWED => return Ok(GetEnd::NoStream),
            _ => {}
        }
        if !parts.status.is_success() || !is_event_stream(&parts.headers) {
            return Err(Box::new(ConnectorError::Status(parts.status)));
        }
        self.relay_get(body, tx, hop).await
    }

    /// Subscribes the new upstream session to every URI the hub holds.
    async fn resubscribe(&self, uris: &Counts, hop: &ClientHop) {
        let held: Vec<String> = lock(uris).keys().cloned().collect();
        for uri in held {
            let req =
                UpstreamRequest::new(SUBSCRIBE, uri_params(&uri)).with_client(Some(hop.clone()));
            if let Err(e) = self.legacy(req).await {
                tracing::warn!(uri, error = %e, "mcp: upstream refused a subscription");
            }
        }
    }

    /// The GET that opens the session's notification stream.
    fn get_request(
        &self,
        session: Option<HeaderValue>,
        version: &str,
    ) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut req = Request::get(self.shared.uri.clone()).body(Full::new(Bytes::new()))?;
        let h = req.headers_mut();
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(s) = session {
            h.insert("mcp-session-id", s);
        }
        if let Ok(v) = HeaderValue::from_str(version) {
            h.insert("mcp-protocol-version", v);
        }
        if let Some(a) = &self.shared.authorization {
            let mut a = a.expose().clone();
            a.set_sensitive(true);
            h.insert(AUTHORIZATION, a);
        }
        Ok(req)
    }

    /// Relays the notifications of an open GET stream to the hub until it ends, keeping the
    /// shared session from going idle meanwhile.
    async fn relay_get<B>(
        &self,
        body: B,
        tx: &broadcast::Sender<Relayed>,
        hop: &ClientHop,
    ) -> Result<GetEnd, BoxError>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let mut body = std::pin::pin!(body);
        let mut decoder = Decoder::new();
        let mut events = Vec::new();
        let period = (self.shared.idle / 2).max(Duration::from_secs(1));
        let mut touch = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let idle = self.shared.stream_idle;
        let silent = tokio::time::sleep(idle);
        let mut silent = std::pin::pin!(silent);
        loop {
            // Taken apart in the branch: the body's error type need not be `Send`.
            let next = tokio::select! {
                frame = body.frame() => Some(frame.map(|f| f.map_err(Into::<BoxError>::into))),
                _ = touch.tick() => None,
                // Nothing, not even a keep-alive, for too long: a dead stream, opened again.
                () = &mut silent => return Err(Box::new(ConnectorError::Idle(idle))),
            };
            if next.is_some() {
                silent.as_mut().reset(tokio::time::Instant::now() + idle);
            }
            let Some(next) = next else {
                self.session(false, hop).await?;
                continue;
            };
            let frame = match next {
                None => return Ok(GetEnd::Ended),
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Err(e),
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            decoder.feed(&data, &mut events)?;
            for note in events
                .drain(..)
                .filter_map(|e| notification(e.data.as_bytes()))
            {
                // Nobody listening right now is fine: the hub is closing.
                let _ = tx.send(note);
            }
        }
    }
}

/// How a GET stream ended without failing.
enum GetEnd {
    /// The upstream closed it.
    Ended,
    /// The upstream forgot the session (404).
    Forgotten,
    /// The upstream offers no GET stream (405): list changes never come from it.
    NoStream,
}
