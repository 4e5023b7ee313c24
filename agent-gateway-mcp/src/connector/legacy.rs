//! The legacy era of an HTTP upstream: one session per client session (opened with that
//! client's capabilities, kept while in use, closed with DELETE when idle or pushed out), and
//! `notifications/cancelled` for a call dropped before its answer.

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::jsonrpc::{Id, Message, Notification, Request as RpcRequest};
use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::wire::Outbound;
use super::{ConnectorError, HttpUpstream, Session, State, wire};
use crate::era::LEGACY_VERSIONS;
use crate::request::ClientHop;
use crate::upstream::UpstreamRequest;

/// Runs its action (telling a legacy upstream of a cancellation) when dropped armed.
struct CancelOnDrop(Option<Box<dyn FnOnce() + Send>>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}

impl<C> HttpUpstream<C>
where
    C: HttpTransport,
{
    pub(super) async fn legacy(
        &self,
        req: UpstreamRequest,
    ) -> Result<Map<String, Value>, BoxError> {
        let client = req.client().cloned().unwrap_or_default();
        for attempt in 0..2 {
            let (session, version) = self.session(attempt > 0, &client).await?;
            let mut headers = HeaderMap::new();
            let had_session = session.is_some();
            if let Some(session) = session {
                headers.insert("mcp-session-id", session);
            }
            if let Ok(v) = HeaderValue::from_str(&version) {
                headers.insert("mcp-protocol-version", v);
            }
            let id = self.next_id();
            let msg = Outbound::request(Id::from(id), req.method_name(), req.params())?;
            // Dropped before the answer (the client cancelled or left): tell the upstream.
            let guard = self.cancel_on_drop(headers.clone(), id);
            let answer = self.post(headers, &msg, req.notifier()).await;
            guard.disarm();
            let answer = answer?;
            // A 404 means the server forgot our session: open a new one, once.
            if answer.status != StatusCode::NOT_FOUND || attempt > 0 || !had_session {
                return answer.into_result();
            }
        }
        Err(Box::new(ConnectorError::Initialize))
    }

    /// The legacy session of `client`, opened (or re-opened when `renew`) under the state
    /// lock so that concurrent callers share one `initialize`. Idle sessions are dropped
    /// first; over the limit, the least recently used one is.
    pub(super) async fn session(
        &self,
        renew: bool,
        client: &ClientHop,
    ) -> Result<(Option<HeaderValue>, String), BoxError> {
        let key = session_key(client);
        let mut state = self.shared.state.lock().await;
        let now = Instant::now();
        let mut gone = expire(&mut state, now, self.shared.idle);
        if let (Some(s), false) = (state.sessions.get_mut(&key), renew) {
            s.used = now;
            let out = (s.id.clone(), s.version.clone());
            drop(state);
            self.close(gone);
            return Ok(out);
        }
        if !state.sessions.contains_key(&key) && state.sessions.len() >= self.shared.max_sessions {
            gone.extend(oldest(&mut state));
        }
        self.close(gone);
        let (session, version) = self.initialize(client.capabilities().clone()).await?;
        let entry = Session {
            id: session.clone(),
            version: version.clone(),
            used: Instant::now(),
        };
        state.sessions.insert(key, entry);
        Ok((session, version))
    }

    /// Opens an upstream session telling the upstream what its client(s) can answer:
    /// `initialize`, then `notifications/initialized`. Gives the session id, if the upstream
    /// set one, and the version agreed.
    async fn initialize(
        &self,
        capabilities: Value,
    ) -> Result<(Option<HeaderValue>, String), BoxError> {
        let init = RpcRequest::new(self.next_id(), "initialize").with_params(&json!({
            "protocolVersion": LEGACY_VERSIONS[0],
            "capabilities": capabilities,
            "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
        }))?;
        let answer = self
            .post(
                HeaderMap::new(),
                &Outbound::message(&Message::from(init)),
                None,
            )
            .await?;
        let session = answer.headers.get("mcp-session-id").cloned();
        let result = answer.into_result()?;
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .filter(|v| LEGACY_VERSIONS.contains(v))
            .ok_or(ConnectorError::Initialize)?
            .to_owned();
        let mut headers = HeaderMap::new();
        if let Some(session) = &session {
            headers.insert("mcp-session-id", session.clone());
        }
        if let Ok(v) = HeaderValue::from_str(&version) {
            headers.insert("mcp-protocol-version", v);
        }
        let done = Message::from(Notification::new("notifications/initialized"));
        self.post(headers, &Outbound::message(&done), None).await?;
        Ok((session, version))
    }

    /// A guard that, dropped armed, sends `notifications/cancelled` for request `id` on the
    /// session in `headers`, in the background.
    fn cancel_on_drop(&self, headers: HeaderMap, id: i64) -> CancelOnDrop {
        let client = self.client.clone();
        let shared = self.shared.clone();
        CancelOnDrop(Some(Box::new(move || {
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let note = Notification::new("notifications/cancelled")
                .with_params(&json!({"requestId": id, "reason": "cancelled by the client"}));
            let Ok(note) = note else { return };
            handle.spawn(async move {
                let auth = shared.authorization.as_ref().map(Secret::expose);
                let msg = Message::from(note);
                if let Err(e) = wire::post_only(client, &shared.uri, auth, headers, &wire::Outbound::message(&msg)).await {
                    tracing::debug!(error = %e, "mcp: could not tell the upstream of a cancellation");
                }
            });
        })))
    }

    /// Ends dropped sessions upstream with DELETE, in the background (best effort: a server
    /// may not support it, and expires them anyway).
    fn close(&self, gone: Vec<Session>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for s in gone {
            let Some(id) = s.id else { continue };
            let client = self.client.clone();
            let shared = self.shared.clone();
            handle.spawn(async move {
                let Ok(mut req) = Request::delete(shared.uri.clone()).body(Full::new(Bytes::new()))
                else {
                    return;
                };
                req.headers_mut().insert("mcp-session-id", id);
                if let Ok(v) = HeaderValue::from_str(&s.version) {
                    req.headers_mut().insert("mcp-protocol-version", v);
                }
                if let Some(a) = shared.authorization.as_ref().map(Secret::expose) {
                    let mut a = a.clone();
                    a.set_sensitive(true);
                    req.headers_mut().insert(http::header::AUTHORIZATION, a);
                }
                if let Err(e) = tower::ServiceExt::oneshot(client, req)
                    .await
                    .map_err(Into::into)
                {
                    tracing::debug!(error = %e, "mcp: closing an idle upstream session failed");
                }
            });
        }
    }
}

/// A client's own session, or else one session per capability set: what the upstream may ask
/// depends on what the client declared. `None` is the session of clients that declared
/// nothing.
fn session_key(client: &ClientHop) -> Option<Arc<str>> {
    match client.session() {
        Some(s) => Some(Arc::from(s)),
        None if client
            .capabilities()
            .as_object()
            .is_some_and(|c| !c.is_empty()) =>
        {
            Some(Arc::from(format!("capabilities:{}", client.capabilities())))
        }
        None => None,
    }
}

/// Takes out the sessions idle for `idle` or longer, to be closed.
fn expire(state: &mut State, now: Instant, idle: Duration) -> Vec<Session> {
    let mut gone = Vec::new();
    state.sessions.retain(|_, s| {
        let keep = now.duration_since(s.used) < idle;
        if !keep {
            gone.push(s.clone());
        }
        keep
    });
    gone
}

/// Takes out the least recently used session, to make room for a new one.
fn oldest(state: &mut State) -> Option<Session> {
    let key = state
        .sessions
        .iter()
        .min_by_key(|(_, s)| s.used)
        .map(|(k, _)| k.clone())?;
    state.sessions.remove(&key)
}
