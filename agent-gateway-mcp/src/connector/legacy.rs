//! The legacy era of an HTTP upstream: one session per client session (opened with that
//! client's capabilities, kept while in use, closed with DELETE when idle or pushed out), and
//! `notifications/cancelled` for a call dropped before its answer.
//!
//! A client without a session of its own (a modern client) shares a session with the clients
//! of the same caller ([`Owner`]) that declared the same capabilities, keyed by a digest of
//! both: no upstream session, nor anything it emits, is shared between callers. Capabilities over
//! [`MAX_CAPABILITIES`] bytes are reduced to their names, so a few shapes cover every client
//! and no client string is kept. The sessions' table is locked only to find or make a slot:
//! a session's `initialize` runs in its own slot, so a slow upstream handshake delays only the
//! callers waiting for that session (finding 9).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_gateway_core::jsonrpc::{Id, Message, Notification, Request as RpcRequest};
use agent_gateway_core::run::RUN_BUDGET_HEADER;
use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::wire::Outbound;
use super::{ConnectorError, HttpUpstream, Session, State, wire};
use crate::era::LEGACY_VERSIONS;
use crate::request::{ClientHop, Owner};
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
            if let Some(value) = req.run_budget() {
                headers.insert(RUN_BUDGET_HEADER, value.clone());
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

    /// The legacy session of `client`, opened (or re-opened when `renew`) in its slot so that
    /// concurrent callers share one `initialize` and the state lock is never held across it.
    /// Idle sessions are dropped first; over the limit, the least recently used one is.
    pub(super) async fn session(
        &self,
        renew: bool,
        client: &ClientHop,
    ) -> Result<(Option<HeaderValue>, String), BoxError> {
        let key = session_key(client);
        let slot = {
            let mut state = self.shared.state.lock().await;
            let now = Instant::now();
            let mut gone = expire(&mut state, now, self.shared.idle);
            if renew && let Some(old) = state.sessions.remove(&key) {
                gone.extend(old.open());
            }
            let owner = client.owner().cloned();
            if !state.sessions.contains_key(&key) {
                // One caller's sessions push out its own oldest, never another caller's.
                let per_owner = (self.shared.max_sessions / OWNER_SHARE).max(1);
                let held = state.sessions.values().filter(|s| s.owner == owner).count();
                if owner.is_some() && held >= per_owner {
                    gone.extend(oldest(&mut state, Some(&owner)));
                } else if state.sessions.len() >= self.shared.max_sessions {
                    gone.extend(oldest(&mut state, None));
                }
            }
            let slot = state
                .sessions
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Slot::new(now, owner)))
                .clone();
            slot.touch(now);
            drop(state);
            self.close(gone);
            slot
        };
        let capabilities = bounded_capabilities(client.capabilities());
        let opened = slot
            .cell
            .get_or_try_init(|| self.initialize(capabilities))
            .await;
        match opened {
            Ok(s) => Ok((s.id.clone(), s.version.clone())),
            Err(e) => {
                // A failed handshake leaves no slot behind: the next caller tries again.
                let mut state = self.shared.state.lock().await;
                if state
                    .sessions
                    .get(&key)
                    .is_some_and(|s| Arc::ptr_eq(s, &slot))
                {
                    state.sessions.remove(&key);
                }
                Err(e)
            }
        }
    }

    /// Ends the upstream session of a legacy client's own session, if one is open: its
    /// client session ended. A session shared by clients without one is left alone.
    pub(super) async fn end_session(&self, client: Option<&ClientHop>) {
        let Some(client) = client.filter(|c| c.session().is_some()) else {
            return;
        };
        let key = session_key(client);
        let gone = self.shared.state.lock().await.sessions.remove(&key);
        self.close(gone.and_then(|slot| slot.open()).into_iter().collect());
    }

    /// Opens an upstream session telling the upstream what its client(s) can answer:
    /// `initialize`, then `notifications/initialized`. Gives the session id, if the upstream
    /// set one, and the version agreed.
    async fn initialize(&self, capabilities: Value) -> Result<Session, BoxError> {
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
        Ok(Session {
            id: session,
            version,
        })
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

/// The most bytes of client capabilities a shared upstream session is keyed and opened by;
/// larger ones are reduced to their names (as in a sealed session id), so that a client cannot
/// make the gateway keep or send a large value.
pub(crate) const MAX_CAPABILITIES: usize = crate::session::MAX_SEALED_CAPABILITIES;

/// The capabilities as an upstream session is keyed and opened by: as declared when small,
/// else their (first 8, short) names with empty values.
pub(super) fn bounded_capabilities(capabilities: &Value) -> Value {
    let Value::Object(caps) = capabilities else {
        return Value::Object(Map::new());
    };
    let size = serde_json::to_vec(caps).map_or(usize::MAX, |v| v.len());
    if size <= MAX_CAPABILITIES {
        return Value::Object(caps.clone());
    }
    Value::Object(
        caps.keys()
            .filter(|k| k.len() <= 32)
            .take(8)
            .map(|k| (k.clone(), json!({})))
            .collect(),
    )
}

/// A client's own session, or else one session per caller and capability set: what the
/// upstream may ask depends on what the client declared, and what a session emits outside any
/// call (log messages, change notifications on its GET stream) must reach only its own caller,
/// so no upstream session is ever shared between owners. `None` is the session of anonymous
/// clients (no caller known: no policy stack authenticates) that declared nothing. The key is
/// a digest, never the client's string nor the caller's name.
pub(super) fn session_key(client: &ClientHop) -> Option<Arc<str>> {
    if let Some(s) = client.session() {
        // A client session is sealed to its owner already (its key digests the sealed id).
        return Some(Arc::from(s));
    }
    let caps = bounded_capabilities(client.capabilities());
    let owner = client.owner().map(crate::request::Owner::digest);
    if owner.is_none() && caps.as_object().is_none_or(Map::is_empty) {
        return None;
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match owner {
        Some(d) => {
            ctx.update(b"owner:");
            ctx.update(&d);
        }
        None => ctx.update(b"anonymous:"),
    }
    ctx.update(caps.to_string().as_bytes());
    let hex: String = ctx.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(Arc::from(format!("shared:{hex}")))
}

/// The part of an upstream's session limit one caller may hold: an eighth, so that one
/// caller opening sessions pushes out its own, and seven others keep theirs.
const OWNER_SHARE: usize = 8;

/// One legacy session's place in the table: opened once, by the first caller that needs it.
#[derive(Debug)]
pub(super) struct Slot {
    cell: OnceCell<Session>,
    used: Mutex<Instant>,
    /// The caller whose client session it serves (`None`: shared by callers).
    owner: Option<Owner>,
}

impl Slot {
    fn new(now: Instant, owner: Option<Owner>) -> Self {
        Slot {
            cell: OnceCell::new(),
            used: Mutex::new(now),
            owner,
        }
    }

    fn touch(&self, now: Instant) {
        if let Ok(mut used) = self.used.lock() {
            *used = now;
        }
    }

    fn used(&self) -> Option<Instant> {
        self.used.lock().ok().map(|u| *u)
    }

    /// The session, if it was opened.
    fn open(&self) -> Option<Session> {
        self.cell.get().cloned()
    }
}

/// Takes out the sessions idle for `idle` or longer, to be closed.
fn expire(state: &mut State, now: Instant, idle: Duration) -> Vec<Session> {
    let mut gone = Vec::new();
    state.sessions.retain(|_, s| {
        let keep = s.used().is_some_and(|u| now.duration_since(u) < idle);
        if !keep {
            gone.extend(s.open());
        }
        keep
    });
    gone
}

/// Takes out the least recently used session (of `owner`, if given), to make room for a new
/// one.
fn oldest(state: &mut State, owner: Option<&Option<Owner>>) -> Option<Session> {
    let key = state
        .sessions
        .iter()
        .filter(|(_, s)| owner.is_none_or(|o| s.owner == *o))
        .min_by_key(|(_, s)| s.used())
        .map(|(k, _)| k.clone())?;
    state.sessions.remove(&key).and_then(|s| s.open())
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
