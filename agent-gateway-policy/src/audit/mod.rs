//! Tamper-evident audit: one record per call, hash-chained, written off the request path,
//! never lost by default, verifiable offline and queryable by run.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, Usage};
//! use agent_gateway_policy::ServiceBuilderExt;
//! use agent_gateway_policy::audit::{self, AuditLayer, AuditLog, AuditOptions, AuditTapLayer, Fsync, JsonlSink, Rotation};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("agw-audit-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let sink = JsonlSink::open(&dir, Rotation::default()).unwrap();
//! let log = AuditLog::start(sink, AuditOptions::new().with_fsync(Fsync::Always)).unwrap();
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::with_usage(json!("done"), Usage::step())));
//! let stack = ServiceBuilder::new()
//!     .layer(AuditLayer::new(log.clone()))
//!     .check(|req: &dyn AgentRequest| match req.target() {
//!         Some("fs.delete") => Err(Denied::forbidden("no deletes").with_rule("no-deletes")),
//!         _ => Ok(()),
//!     })
//!     .layer(AuditTapLayer)
//!     .service(upstream.clone());
//! let call = |target: &str| Call::new(Action::ToolCall, json!({"path": "/x"}))
//!     .with_target(target).with_caller(Caller::new("ann"));
//!
//! // Allowed and denied calls are both recorded, the denial with the rule that decided.
//! assert!(stack.clone().oneshot(call("fs.read")).await.is_ok());
//! assert!(stack.clone().oneshot(call("fs.delete")).await.is_err());
//! log.flush().await.unwrap();
//! let report = audit::verify(&dir, None).unwrap();
//! assert_eq!(report.records, 2);
//! let records = audit::read(&dir).unwrap();
//! assert_eq!((records[0].decision.as_str(), records[0].target.as_deref()), ("allow", Some("fs.read")));
//! assert_eq!((records[1].decision.as_str(), records[1].rule.as_deref()), ("deny", Some("no-deletes")));
//! assert_eq!(upstream.calls(), 1);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```
//!
//! # What a record holds
//!
//! An [`AuditRecord`]: when, who (principal, authenticator, issuer, tenant), protocol, action,
//! target, the SHA-256 of the arguments (or the arguments, [`Arguments::Full`]), the decision
//! and the rule that denied, the outcome (`ok`, `aborted`, `failed`, `denied`, `error`) with its kind,
//! usage and cost, latency, run id, W3C trace id, and the upstream and instance that served
//! it (when the protocol reports them, [`ServedBy`](agent_gateway_core::response::ServedBy)).
//! A call that failed because of its upstream is an `error` of kind `upstream`, `timeout` or
//! `unavailable`, with the HTTP status or JSON-RPC code the upstream answered and the upstream
//! and instance it was, as the protocol tagged its error
//! ([`UpstreamError`](agent_gateway_core::response::UpstreamError)); an untagged error is the
//! gateway's own, `internal`.
//! A streamed response's record is written when the stream ends (completed, aborted by the
//! client, or failed upstream with the failure's kind), with
//! the stream's usage, through its [`UsageReport`](agent_gateway_core::UsageReport).
//!
//! # Where it goes
//!
//! The record must see every denial, so [`AuditLayer`] goes outside every layer that can deny
//! (auth included: unauthenticated calls are recorded too, with no caller). What those layers
//! add to the request (the caller, the run id, arguments redacted by a guardrail) is read by an
//! [`AuditTap`] placed after them, which refreshes the record the outer layer is building:
//! `audit → auth → tap → authorize → … → run → guardrail → tap → upstream`.
//! [`PolicyStack`](crate::stack::PolicyStack) puts a tap right after auth, so a denial by a
//! later layer names its caller. Without taps, the record holds the request as the audit layer
//! saw it.
//!
//! A tap reads the arguments again only when the request's
//! [`Rewritten`](crate::guard::Rewritten) extension changed since they were read (reading
//! them serialises them whole). Guardrails that rewrite set it; a layer of your own that
//! rewrites arguments must call [`Rewritten::note`](crate::guard::Rewritten::note) too, or its
//! rewrite is not in the record (the record keeps the arguments as first read).
//!
//! Requests refused at the HTTP edge, before any audit layer (authentication before the body,
//! a body too large, a wrong content type), are recorded by an [`EdgeAuditLayer`] around the
//! route, on the same log.
//!
//! # The chain, and what verification detects
//!
//! Every record carries its sequence number and the previous record's hash, and its own hash
//! over its exact bytes ([`chain`]). [`verify`] walks a store from its first record and
//! reports the first bad one: a **modified** record (hash mismatch), a **deleted** one (a gap in
//! the sequence), an **inserted** or **reordered** one (a sequence number out of place, or a
//! `prev` that is not its predecessor's hash). A **torn last line**, what a crash mid-write
//! leaves, is reported as such and is not tampering.
//!
//! What it cannot detect alone: records cut off **at the end** (the rest is still a valid
//! chain), and a whole suffix **rewritten** with recomputed hashes (the hash is keyless). Both
//! are detected against a head kept elsewhere: give [`verify`] the [`ChainHead`] you recorded
//! (an export to another system, a line in another log) and it checks the store reaches it
//! with the same hash.
//!
//! # Never lossy by default
//!
//! [`AuditLog`] writes on a dedicated thread fed by a bounded queue. When the queue is full,
//! calls wait ([`Overflow::Wait`]); dropping is the explicit [`Overflow::Drop`], counted. The
//! durability policy is [`Fsync`]; with [`Fsync::Always`] a batch is fsynced once (group
//! commit) and each call's response is released only after its record is durable. A record
//! that cannot be written fails its call with
//! [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable) (fail closed).

pub mod chain;
#[cfg(test)]
mod chain_tests;
pub mod edge;
mod file;
pub mod future;
mod layer;
mod lock;
mod log;
mod read;
mod record;
mod sink;
#[cfg(feature = "sqlite")]
mod sqlite;
mod tap;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_once;
mod ticket;
mod verify;

use std::fmt;
use std::task::{Context, Poll};

use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::{AgentRequest, AgentResponse, BoxError};
use tower::Service;

pub use self::chain::ChainHead;
pub use self::edge::{EdgeAudit, EdgeAuditLayer, EdgeMark, EdgeProtocol, UNKNOWN_ACTION};
pub use self::file::{DEFAULT_SEGMENT_BYTES, JsonlSink, Rotation, Torn};
pub use self::layer::AuditLayer;
pub use self::log::{
    AuditLog, AuditOptions, DEFAULT_FSYNC_INTERVAL, DEFAULT_QUEUE, Fsync, MAX_BATCH, Overflow,
};
pub use self::read::{read, run};
pub use self::record::{Arguments, AuditRecord, CallerRecord, RawJson, UsageRecord};
pub use self::sink::{AuditError, AuditSink};
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteSink;
pub use self::tap::{AuditTap, AuditTapLayer};
pub use self::verify::{Broken, Reason, Verified, verify};

use self::future::ResponseFuture;
use self::record::Arguments as Args;
use self::ticket::Ticket;

/// Writes one record per call; see the [module docs](self).
pub struct Audit<S> {
    inner: S,
    log: AuditLog,
    arguments: Args,
}

impl<S> Audit<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the audit service, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for Audit<S> {
    fn clone(&self) -> Self {
        Audit {
            inner: self.inner.clone(),
            log: self.log.clone(),
            arguments: self.arguments,
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Audit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audit")
            .field("inner", &self.inner)
            .field("log", &self.log)
            .finish()
    }
}

impl<S, R> Service<R> for Audit<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    S::Response: AgentResponse + Send + 'static,
    R: AgentRequest,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        if let Some(mark) = req.extensions().get::<EdgeMark>() {
            mark.reached();
        }
        let ticket = Ticket::new(&req, self.arguments);
        req.extensions_mut().insert(ticket.clone());
        // The warnings the layers further in add to the answer go in the record too.
        let warned = PolicyHeaders::attach(req.extensions_mut());
        ResponseFuture::new(self.inner.call(req), ticket, self.log.clone(), warned)
    }
}
