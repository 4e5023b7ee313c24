//! Opening the legacy SSE stream: one attempt at a time for all callers, its endpoint event
//! and handshake, and the backoff after a failed attempt.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Message, Notification};
use agent_gateway_core::transport::HttpTransport;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tower::ServiceExt;

use super::link::{Inflight, Link, Reader, post};
use super::{Conn, SSE_VERSION, Shared, SseUpstream, SseUpstreamError};
use crate::era::LEGACY_VERSIONS;

/// Aborts a task when dropped, unless disarmed.
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

impl<C> SseUpstream<C>
where
    C: HttpTransport,
{
    /// The open stream, opening it (once, for all callers) when there is none.
    pub(super) async fn link(&self) -> Result<Arc<Link>, BoxError> {
        let mut outcome = {
            let mut state = self
                .shared
                .state
                .lock()
                .map_err(|_| SseUpstreamError::Lost)?;
            match &state.conn {
                Conn::Up(link) if link.inflight.is_open() => return Ok(link.clone()),
                Conn::Connecting(rx) => rx.clone(),
                Conn::Down { until, error } if Instant::now() < *until => {
                    return Err(Box::new(error.clone()));
                }
                _ => {
                    let (tx, rx) = watch::channel(None);
                    state.conn = Conn::Connecting(rx.clone());
                    tokio::spawn(attempt(self.shared.clone(), self.client.clone(), tx));
                    rx
                }
            }
        };
        let done = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| SseUpstreamError::Lost)?;
        match done.as_ref() {
            Some(Ok(link)) => Ok(link.clone()),
            Some(Err(e)) => Err(Box::new(e.clone())),
            None => Err(Box::new(SseUpstreamError::Lost)),
        }
    }

    /// Opens the stream, waits for its endpoint and runs the handshake.
    async fn open(&self) -> Result<Arc<Link>, SseUpstreamError> {
        let config = &self.shared.config;
        let mut get = Request::get(config.uri.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|_| SseUpstreamError::BadEndpoint)?;
        let h = get.headers_mut();
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let auth = self.shared.authorization();
        if let Some(mut a) = auth.clone() {
            a.set_sensitive(true);
            h.insert(AUTHORIZATION, a);
        }
        let res = self.client.clone().oneshot(get).await.map_err(|e| {
            let e: BoxError = e.into();
            tracing::warn!(uri = %config.uri, error = %e, "mcp sse: could not open the stream");
            SseUpstreamError::Unreachable
        })?;
        self.shared.opened.fetch_add(1, Ordering::SeqCst);
        if res.status() != StatusCode::OK {
            return Err(SseUpstreamError::Status(res.status()));
        }
        let is_sse = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Err(SseUpstreamError::NotEventStream);
        }
        let inflight = Arc::new(Inflight::new());
        let reader = Reader {
            client: self.client.clone(),
            base: config.uri.clone(),
            authorization: auth,
            max_event_size: config.max_event_size,
            idle: config.stream_idle,
            inflight: inflight.clone(),
            shared: Arc::downgrade(&self.shared),
            stop: self.shared.stop.subscribe(),
        };
        let (tx, endpoint) = oneshot::channel();
        let task = tokio::spawn(reader.run(res.into_body(), tx));
        // Stops the reader (failing what is in flight) unless the attempt gets through.
        let mut armed = AbortOnDrop(Some(task.abort_handle()));
        let endpoint = match endpoint.await {
            Ok(Ok(uri)) => uri,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(SseUpstreamError::NoEndpoint),
        };
        let link = Arc::new(Link {
            endpoint,
            inflight,
            reader: task.abort_handle(),
        });
        self.handshake(&link).await?;
        armed.0 = None;
        Ok(link)
    }

    async fn handshake(&self, link: &Link) -> Result<(), SseUpstreamError> {
        let params = json!({
            "protocolVersion": SSE_VERSION,
            "capabilities": self.shared.config.capabilities.clone().unwrap_or_else(
                crate::connector::mux::shared_session_capabilities
            ),
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        });
        let Value::Object(params) = params else {
            return Err(SseUpstreamError::Initialize);
        };
        let result = self
            .exchange(link, "initialize", params, None, None)
            .await
            .map_err(|e| {
                tracing::warn!(uri = %self.shared.config.uri, error = %e, "mcp sse: initialize failed");
                e.downcast_ref::<SseUpstreamError>()
                    .cloned()
                    .unwrap_or(SseUpstreamError::Initialize)
            })?;
        let version = result.get("protocolVersion").and_then(Value::as_str);
        if !version.is_some_and(|v| v == SSE_VERSION || LEGACY_VERSIONS.contains(&v)) {
            return Err(SseUpstreamError::Initialize);
        }
        let done = Message::from(Notification::new("notifications/initialized"));
        let auth = self.shared.authorization();
        let status = post(
            self.client.clone(),
            &link.endpoint,
            auth.as_ref(),
            done.to_vec(),
        )
        .await
        .map_err(|_| SseUpstreamError::Unreachable)?;
        if !status.is_success() {
            return Err(SseUpstreamError::Status(status));
        }
        Ok(())
    }
}

/// One connection attempt, run on its own task so that a caller that gives up cannot leave
/// it half done; its outcome goes to the state and to every caller waiting on it.
async fn attempt<C>(
    shared: Arc<Shared>,
    client: C,
    tx: watch::Sender<Option<Result<Arc<Link>, SseUpstreamError>>>,
) where
    C: HttpTransport,
{
    let this = SseUpstream {
        client,
        shared: shared.clone(),
    };
    let timeout = shared.config.connect_timeout;
    let outcome = match tokio::time::timeout(timeout, this.open()).await {
        Ok(outcome) => outcome,
        Err(_) => Err(SseUpstreamError::ConnectTimeout),
    };
    if let Ok(mut state) = shared.state.lock() {
        match &outcome {
            Ok(link) => {
                state.failures = 0;
                state.conn = Conn::Up(link.clone());
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                let doubling = 2u32.saturating_pow(state.failures.saturating_sub(1).min(16));
                let delay = shared
                    .config
                    .backoff
                    .saturating_mul(doubling)
                    .min(shared.config.max_backoff);
                tracing::warn!(uri = %shared.config.uri, %error, retry_in = ?delay, "mcp sse: connecting failed");
                state.conn = Conn::Down {
                    until: Instant::now() + delay,
                    error: error.clone(),
                };
            }
        }
    }
    let _ = tx.send(Some(outcome));
}
