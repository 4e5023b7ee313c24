//! The [`ResponseFuture`] of [`Audit`](super::Audit): runs the call, then writes its record
//! (at once, or when the response's stream ends) before handing the response on.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, Usage};
//! use agent_gateway_policy::audit::{AuditLayer, AuditLog, AuditOptions, JsonlSink, Rotation};
//! use agent_gateway_policy::audit::future::ResponseFuture;
//! use serde_json::json;
//! use tower::{Layer, Service, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("agw-audit-future-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let log = AuditLog::start(JsonlSink::open(&dir, Rotation::default()).unwrap(), AuditOptions::new()).unwrap();
//! let mut svc = AuditLayer::new(log.clone())
//!     .layer(service_fn(|_: Call| async { Ok::<_, BoxError>(Reply::with_usage(json!("ok"), Usage::step())) }));
//! let fut: ResponseFuture<_, _> = svc.ready().await.unwrap().call(Call::new(Action::ToolCall, json!({})));
//! assert!(fut.await.is_ok());
//! log.flush().await.unwrap();
//! assert_eq!(log.written(), 1);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::{AgentResponse, Outcome, PolicyHeaders, UpstreamError};
use agent_gateway_core::upstream::error::is_refusal;
use agent_gateway_core::upstream::timeout::Elapsed;
use agent_gateway_core::{BoxError, Denied};
use pin_project_lite::pin_project;

use super::AuditLog;
use super::record::{AuditRecord, UsageRecord};
use super::ticket::Ticket;

type Recording<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

pin_project! {
    /// Runs the inner call, then writes its record; see the [module docs](self).
    pub struct ResponseFuture<F, T> {
        #[pin]
        state: State<F, T>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T> {
        Calling {
            #[pin]
            inner: F,
            ticket: Ticket,
            log: AuditLog,
            started: Instant,
            warned: PolicyHeaders,
        },
        Recording {
            recording: Recording<T>,
        },
    }
}

impl<F, T> ResponseFuture<F, T> {
    /// Runs `inner`, then writes `ticket`'s record with the warnings `warned` holds by then
    /// (the rules that warned about the call in its answer's headers).
    pub(super) fn new(inner: F, ticket: Ticket, log: AuditLog, warned: PolicyHeaders) -> Self {
        ResponseFuture {
            state: State::Calling {
                inner,
                ticket,
                log,
                started: Instant::now(),
                warned,
            },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    T: AgentResponse + Send + 'static,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Calling {
                    inner,
                    ticket,
                    log,
                    started,
                    warned,
                } => {
                    let result = ready!(inner.poll(cx)).map_err(Into::into);
                    let mut record = ticket.take();
                    record.latency_ms = millis(*started);
                    record.warnings = warned.warnings();
                    let recording = match result {
                        Ok(response) => respond(response, record, log.clone(), *started),
                        Err(error) => refuse(error, record, log.clone()),
                    };
                    this.state.set(State::Recording { recording });
                }
                StateProj::Recording { recording } => return recording.as_mut().poll(cx),
            }
        }
    }
}

/// A response: recorded now if its usage is known, else when its stream ends.
fn respond<T>(response: T, mut record: AuditRecord, log: AuditLog, started: Instant) -> Recording<T>
where
    T: AgentResponse + Send + 'static,
{
    record.decision = "allow".into();
    if let Some(served) = response.served_by() {
        record.upstream = Some(served.upstream().to_owned());
        record.instance = served.instance().map(str::to_owned);
    }
    let ended = response.usage_report().map(|report| report.usage());
    match ended {
        Some(None) => {
            // A stream: written when it ends, from the task polling its body.
            if let Some(report) = response.usage_report() {
                report.on_complete(move |usage, outcome| {
                    end(&mut record, Some(usage), outcome);
                    record.duration_ms = Some(millis(started));
                    log.submit_detached(record);
                });
            }
            Box::pin(std::future::ready(Ok(response)))
        }
        Some(Some((usage, outcome))) => {
            end(&mut record, Some(&usage), outcome);
            Box::pin(async move { submit(&log, record).await.map(|()| response) })
        }
        None => {
            end(&mut record, None, Outcome::Complete);
            Box::pin(async move { submit(&log, record).await.map(|()| response) })
        }
    }
}

fn end(record: &mut AuditRecord, usage: Option<&agent_gateway_core::Usage>, outcome: Outcome) {
    record.usage = usage.map(UsageRecord::from);
    let (outcome, kind) = match outcome {
        Outcome::Complete => ("ok", None),
        Outcome::Failed(failure) => ("failed", Some(failure.as_str())),
        _ => ("aborted", None),
    };
    record.outcome = outcome.into();
    if let Some(kind) = kind {
        record.error_kind = Some(kind.into());
    }
}

/// A failed call: a denial (by whichever layer inside) or an error, recorded before it is
/// returned.
fn refuse<T: Send + 'static>(
    error: BoxError,
    mut record: AuditRecord,
    log: AuditLog,
) -> Recording<T> {
    match Denied::find(error.as_ref()) {
        Some(denied) => {
            record.decision = "deny".into();
            record.rule = denied.rule().map(str::to_owned);
            record.outcome = "denied".into();
            record.error_kind = Some(denied.kind().as_str().into());
        }
        None => {
            record.decision = "allow".into();
            record.outcome = "error".into();
            let tagged = UpstreamError::find(error.as_ref());
            if let Some(served) = tagged.and_then(UpstreamError::served_by) {
                record.upstream = Some(served.upstream().to_owned());
                record.instance = served.instance().map(str::to_owned);
            }
            if let Some(code) = tagged.and_then(UpstreamError::code) {
                record.upstream_status = code.http_status();
                record.upstream_code = code.jsonrpc_code();
            }
            let kind = if let Some(tagged) = tagged {
                tagged.failure().as_str()
            } else if cause_ref::<Elapsed>(error.as_ref()).is_some() {
                "timeout"
            } else if is_refusal(error.as_ref()) {
                "unavailable"
            } else {
                "internal"
            };
            record.error_kind = Some(kind.into());
        }
    }
    Box::pin(async move {
        // The call failed either way; a record that cannot be written is logged by the writer.
        let _ = log.submit(record).await;
        Err(error)
    })
}

/// Writes `record`; a record that cannot be written fails the call (fail closed).
async fn submit(log: &AuditLog, record: AuditRecord) -> Result<(), BoxError> {
    log.submit(record)
        .await
        .map_err(|_| Denied::unavailable("the audit log is unavailable").into())
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

impl<F, T> fmt::Debug for ResponseFuture<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Calling { .. } => "calling",
            State::Recording { .. } => "recording",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
