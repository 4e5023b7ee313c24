//! [`EdgeAuditLayer`]: a record for each request refused at the HTTP edge, before it reached
//! the [`Audit`](super::Audit) layer: a 401 from authentication before the body is read, a 403
//! from the Host/Origin check, a 413 oversized body, a 415 or 406 content-type mismatch.
//!
//! It wraps a whole route, outside every edge layer. A request that reaches the audit layer
//! inside is recorded there, once; one answered with an error status before that is recorded
//! here, as denied, with the [`Denied`] the edge put in the response's extensions (its kind and
//! rule) or, for a front's own HTTP refusal, a kind named after the status.
//!
//! The record's protocol and action come from the request's head alone
//! ([`EdgeProtocol`]): the body was never read. The action is the one the request line tells
//! (`model_call` for an LLM path, the operation of an A2A HTTP+JSON route, `protocol` for an
//! MCP `GET` or `DELETE`), else [`UNKNOWN_ACTION`].
//!
//! ```
//! use agent_gateway_core::Denied;
//! use agent_gateway_policy::audit::{self, AuditLog, AuditOptions, EdgeAuditLayer, JsonlSink, Rotation};
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("agw-audit-edge-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let log = AuditLog::start(JsonlSink::open(&dir, Rotation::default()).unwrap(), AuditOptions::new()).unwrap();
//! // An edge that refuses requests without a credential, saying why in the response.
//! let edge = service_fn(|req: Request<()>| async move {
//!     let mut res = Response::new(());
//!     if !req.headers().contains_key("authorization") {
//!         *res.status_mut() = StatusCode::UNAUTHORIZED;
//!         res.extensions_mut().insert(Denied::unauthenticated("credential required"));
//!     }
//!     Ok::<_, std::convert::Infallible>(res)
//! });
//! let svc = EdgeAuditLayer::new(log.clone(), |_: &http::request::Parts| "mcp").layer(edge);
//! let res = svc.clone().oneshot(Request::post("/mcp").body(()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), 401);
//! // Allowed here, with no audit layer inside: not an edge refusal, so no record.
//! let ok = Request::post("/mcp").header("authorization", "Bearer k").body(()).unwrap();
//! assert_eq!(svc.oneshot(ok).await.unwrap().status(), 200);
//! log.flush().await.unwrap();
//! let records = audit::read(&dir).unwrap();
//! assert_eq!(records.len(), 1);
//! assert_eq!((records[0].decision.as_str(), records[0].error_kind.as_deref()), ("deny", Some("unauthenticated")));
//! // A closure names the protocol only: the action is `unknown`.
//! assert_eq!((records[0].protocol.as_str(), records[0].action.as_str()), ("mcp", audit::UNKNOWN_ACTION));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use agent_gateway_core::{Action, Caller, Denied};
use http::{Request, Response, StatusCode};
use tower::{Layer, Service};

use super::AuditLog;
use super::record::{AuditRecord, CallerRecord, now_ms, trace_id};

/// The action an edge record has when the request line does not tell it: an MCP or A2A
/// JSON-RPC `POST`, whose method is in the body the edge refused before reading.
pub const UNKNOWN_ACTION: &str = "unknown";

/// Names the protocol of a request from its head (its path, usually): `mcp`, `a2a`, `llm`,
/// `http`; and the action, when the head tells it.
pub trait EdgeProtocol: Send + Sync + 'static {
    /// The protocol label of `head`.
    fn protocol(&self, head: &http::request::Parts) -> &'static str;

    /// The action `head` asks for, if its request line tells it without the body (an LLM
    /// path, an A2A HTTP+JSON route, an MCP `GET` or `DELETE`). `None`, the default, is
    /// recorded as [`UNKNOWN_ACTION`].
    fn action(&self, head: &http::request::Parts) -> Option<Action> {
        let _ = head;
        None
    }
}

impl<F> EdgeProtocol for F
where
    F: Fn(&http::request::Parts) -> &'static str + Send + Sync + 'static,
{
    fn protocol(&self, head: &http::request::Parts) -> &'static str {
        self(head)
    }
}

/// Marks a request as having reached an [`Audit`](super::Audit) layer, or carries the caller an
/// edge layer authenticated: shared between the [`EdgeAudit`] outside and what runs inside.
#[derive(Clone, Default)]
pub struct EdgeMark(Arc<MarkState>);

#[derive(Default)]
struct MarkState {
    reached: AtomicBool,
    caller: std::sync::OnceLock<CallerRecord>,
}

impl EdgeMark {
    /// Tells the edge layer the request was recorded further in (the audit layer calls it).
    pub(super) fn reached(&self) {
        self.0.reached.store(true, Ordering::Relaxed);
    }

    /// Names the caller an edge layer authenticated, for the record of a later edge refusal
    /// (a stream limit, an oversized body). The first caller named is kept.
    pub fn set_caller(&self, caller: &Caller) {
        let _ = self.0.caller.set(CallerRecord::from(caller));
    }
}

impl fmt::Debug for EdgeMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeMark")
            .field("reached", &self.0.reached.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Records requests refused at the edge, through an [`EdgeAudit`]; see the
/// [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct EdgeAuditLayer {
    log: AuditLog,
    protocol: Arc<dyn EdgeProtocol>,
}

impl EdgeAuditLayer {
    /// Records edge refusals in `log` (the same log as the audit layer's, so one chain holds
    /// them), labelled by `protocol`.
    pub fn new(log: AuditLog, protocol: impl EdgeProtocol) -> Self {
        EdgeAuditLayer {
            log,
            protocol: Arc::new(protocol),
        }
    }
}

impl fmt::Debug for EdgeAuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeAuditLayer")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for EdgeAuditLayer {
    type Service = EdgeAudit<S>;

    fn layer(&self, inner: S) -> EdgeAudit<S> {
        EdgeAudit {
            inner,
            log: self.log.clone(),
            protocol: Arc::clone(&self.protocol),
        }
    }
}

/// Writes a record for each request the wrapped route refuses before an audit layer sees it;
/// see the [module docs](self).
#[derive(Clone)]
pub struct EdgeAudit<S> {
    inner: S,
    log: AuditLog,
    protocol: Arc<dyn EdgeProtocol>,
}

impl<S: fmt::Debug> fmt::Debug for EdgeAudit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeAudit")
            .field("inner", &self.inner)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// The future of [`EdgeAudit`]: the call, then the record of a refusal before the response.
pub type EdgeFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, RB> Service<Request<B>> for EdgeAudit<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = EdgeFuture<Response<RB>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut head, body) = req.into_parts();
        let mark = EdgeMark::default();
        head.extensions.insert(mark.clone());
        // Only what the record needs, read now: the request is gone once the route has it.
        let mut record = AuditRecord {
            time_ms: now_ms(),
            protocol: self.protocol.protocol(&head).to_owned(),
            action: self
                .protocol
                .action(&head)
                .map_or(UNKNOWN_ACTION, Action::as_str)
                .to_owned(),
            trace_id: head
                .headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(trace_id)
                .map(str::to_owned),
            ..AuditRecord::default()
        };
        let (log, started) = (self.log.clone(), Instant::now());
        let call = self.inner.call(Request::from_parts(head, body));
        Box::pin(async move {
            let res = call.await?;
            let status = res.status();
            if mark.0.reached.load(Ordering::Relaxed) || status.is_success() {
                return Ok(res);
            }
            record.caller = mark.0.caller.get().cloned();
            refused(&mut record, status, res.extensions().get::<Denied>());
            record.latency_ms = started.elapsed().as_millis() as u64;
            // The request was refused either way; a record that cannot be written is counted
            // and logged by the writer.
            let _ = log.submit(record).await;
            Ok(res)
        })
    }
}

/// Fills in a refusal: the edge's denial when it left one, else the status's name.
fn refused(record: &mut AuditRecord, status: StatusCode, denied: Option<&Denied>) {
    let (decision, outcome) = if status.is_server_error() {
        ("allow", "error")
    } else {
        ("deny", "denied")
    };
    record.decision = decision.into();
    record.outcome = outcome.into();
    record.error_kind = Some(match denied {
        Some(d) => d.kind().as_str().to_owned(),
        None => status_kind(status).to_owned(),
    });
    record.rule = denied.and_then(Denied::rule).map(str::to_owned);
}

/// The error kind an edge refusal without a [`Denied`] is recorded with.
fn status_kind(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "quota_exceeded",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}
