//! The end of one forwarded request: the inner service's outcome as a JSON answer, or, when
//! the upstream sends progress or log notifications first, an SSE stream relaying them event by
//! event and ending with the response.
//!
//! The choice is made on the first thing that happens: a notification opens the stream, the
//! outcome gives plain JSON. The stream's body drives the inner future itself, so dropping the
//! body (the client went away) drops the upstream call with it; nothing is spawned.
//!
//! A legacy stream opens with a priming event (an id and empty data, as the 2025-11-25
//! transport asks) and every event carries an id. The answer is recorded (within the session
//! store's per-caller and total bounds) so that a client that resumes with `Last-Event-ID`
//! gets the events after that id replayed; a stream that could not be recorded resumes as the
//! session's GET stream instead.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::Response as RpcResponse;
use agent_gateway_core::jsonrpc::{ErrorObject, Id, Message, Request as RpcRequest, encode};
use agent_gateway_core::sse::Event;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::Response;
use serde_json::{Map, Value};
use tokio::sync::mpsc::Receiver;

use super::Front;
use super::render::{self, ResponseBody, finish_modern, rendered};
use super::stream::EventIds;
use crate::McpResponse;
use crate::era::Era;
use crate::error::Rendered;
use crate::method::McpMethod;
use crate::notify::{Outgoing, Relayed};
use crate::session::resume::{DETACHED_LIMIT, Recording};

/// What the answer to one request needs besides the outcome.
pub(crate) struct Ending {
    pub(crate) front: Arc<Front>,
    pub(crate) era: Era,
    pub(crate) method: McpMethod,
    pub(crate) id: Id,
    /// The legacy session the request came on: where server→client requests are answered.
    pub(crate) session: Option<String>,
}

fn conclude(
    end: &Ending,
    out: Result<McpResponse, BoxError>,
) -> Result<Map<String, Value>, Rendered> {
    match out {
        Ok(res) if end.era == Era::Modern => {
            Ok(finish_modern(&end.front, &end.method, res.into_result()))
        }
        Ok(res) => Ok(res.into_result()),
        Err(e) => Err(rendered(end.era, &e)),
    }
}

type Outcome = Result<McpResponse, BoxError>;

/// Answers with the outcome of `call`: as JSON, or as SSE when `notes` delivers a
/// notification or a server→client request before the outcome. Without `notes` the answer
/// is always JSON.
pub(crate) async fn answer<F>(
    call: F,
    notes: Option<Receiver<Outgoing>>,
    end: Ending,
) -> Result<Response<ResponseBody>, Rendered>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let Some(mut notes) = notes else {
        let result = conclude(&end, call.await)?;
        return Ok(render::result(end.id, result));
    };
    let mut call: BoxFuture<'static, Outcome> = Box::pin(call);
    let first = tokio::select! {
        biased;
        Some(note) = notes.recv() => Err(note),
        out = &mut call => Ok(out),
    };
    let relay = match first {
        Ok(out) => match notes.try_recv() {
            // Sent in the same turn as the outcome: still worth relaying, in order.
            Ok(note) => Relay::new(notes, None, Some(out), note, end),
            Err(_) => {
                let result = conclude(&end, out)?;
                return Ok(render::result(end.id, result));
            }
        },
        Err(note) => Relay::new(notes, Some(call), None, note, end),
    };
    let mut detach = Detach(Some(relay));
    Ok(render::sse(futures_util::stream::poll_fn(move |cx| {
        detach.poll_written(cx)
    })))
}

struct Relay {
    notes: Receiver<Outgoing>,
    call: Option<BoxFuture<'static, Outcome>>,
    outcome: Option<Outcome>,
    pending: Option<Outgoing>,
    end: Option<Ending>,
    /// Event ids, on a legacy stream; the priming event is still due while `primed` is false.
    ids: Option<EventIds>,
    primed: bool,
    /// Where a legacy stream's events are kept for a client that resumes.
    recording: Option<Arc<Recording>>,
    /// The owner of the legacy session the stream answers on.
    owner: Option<crate::session::OwnerKey>,
    /// The gateway ids of the server→client requests sent on this stream, forgotten when it
    /// ends.
    asked: Vec<String>,
    front: Arc<Front>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        for id in &self.asked {
            self.front.store.pending.forget(id);
        }
        // However the stream ends, its recording starts its time to be forgotten.
        if let Some(r) = &self.recording {
            r.end();
        }
    }
}

impl Relay {
    fn new(
        notes: Receiver<Outgoing>,
        call: Option<BoxFuture<'static, Outcome>>,
        outcome: Option<Outcome>,
        first: Outgoing,
        end: Ending,
    ) -> Self {
        let ids = (end.era == Era::Legacy).then(EventIds::new);
        // Whom the session's table entries count against.
        let owner = end.session.as_ref().and_then(|session| {
            let state = end.front.session(session)?;
            Some(crate::session::session_owner(&state, session))
        });
        let recording = match (&ids, &end.session, owner) {
            (Some(ids), Some(session), Some(owner)) => {
                end.front
                    .store
                    .resumable
                    .record(ids.stream(), session, owner)
            }
            _ => None,
        };
        Relay {
            owner,
            recording,
            notes,
            call,
            outcome,
            pending: Some(first),
            front: end.front.clone(),
            end: Some(end),
            ids,
            primed: false,
            asked: Vec::new(),
        }
    }

    /// The next event as written: on a legacy stream, the priming event first and an id on
    /// every event.
    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(ids) = self.ids.as_mut()
            && !self.primed
        {
            self.primed = true;
            let priming = ids.priming();
            if let Some(r) = &self.recording {
                r.push(ids.seq(), priming.clone());
            }
            return Poll::Ready(Some(priming));
        }
        let event = ready!(self.poll_event(cx));
        Poll::Ready(match (event, self.ids.as_mut()) {
            (Some(bytes), Some(ids)) => {
                let event = with_id(&ids.next_id(), &bytes);
                if let Some(r) = &self.recording {
                    r.push(ids.seq(), event.clone());
                }
                Some(event)
            }
            (None, _) => {
                if let Some(r) = &self.recording {
                    r.end();
                }
                None
            }
            (event, _) => event,
        })
    }

    /// Whether the final response has been written.
    fn finished(&self) -> bool {
        self.end.is_none()
    }

    /// The SSE event for one outgoing message, if it can be sent.
    fn event(&mut self, out: Outgoing) -> Option<Bytes> {
        match out {
            Outgoing::Notification(note) => notification_event(note),
            Outgoing::Request(req) => {
                let (method, params, reply) = req.into_parts();
                let session = self.end.as_ref().and_then(|e| e.session.clone());
                let (Some(session), Some(owner)) = (session, self.owner) else {
                    reply.send(Err(ErrorObject::new(
                        ErrorObject::INTERNAL_ERROR,
                        "the client has no session to answer on",
                    )));
                    return None;
                };
                let id = self.front.store.pending.register(&session, owner, reply)?;
                let request = RpcRequest::new(Id::from(id.clone()), method)
                    .with_params(&params)
                    .ok()?;
                self.asked.push(id);
                sse(&Message::from(request))
            }
        }
    }

    /// The next event: a waiting notification or request, then the final response, then the
    /// end.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if let Some(out) = self.pending.take() {
                match self.event(out) {
                    Some(event) => return Poll::Ready(Some(event)),
                    None => continue,
                }
            }
            if self.end.is_none() {
                return Poll::Ready(None);
            }
            if let Some(call) = self.call.as_mut() {
                if let Poll::Ready(Some(note)) = self.notes.poll_recv(cx) {
                    self.pending = Some(note);
                    continue;
                }
                let out = ready!(call.as_mut().poll(cx));
                self.call = None;
                self.outcome = Some(out);
            }
            if let Ok(note) = self.notes.try_recv() {
                self.pending = Some(note);
                continue;
            }
            let (Some(end), Some(out)) = (self.end.take(), self.outcome.take()) else {
                return Poll::Ready(None);
            };
            return Poll::Ready(Some(final_event(&end, out)));
        }
    }
}

/// An encoded event with an `id` field added (field order does not matter in SSE).
fn with_id(id: &str, event: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(id.len() + 5 + event.len());
    out.extend_from_slice(b"id: ");
    out.extend_from_slice(id.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(event);
    Bytes::from(out)
}

fn sse(message: &Message) -> Option<Bytes> {
    sse_bytes(message.to_vec())
}

/// One SSE `message` event carrying already encoded JSON.
fn sse_bytes(json: Vec<u8>) -> Option<Bytes> {
    let data = String::from_utf8(json).ok()?;
    Event::new(data).with_event("message").to_bytes().ok()
}

fn notification_event((method, params): Relayed) -> Option<Bytes> {
    sse_bytes(encode::notification(&method, Some(&params)).ok()?)
}

fn final_event(end: &Ending, out: Outcome) -> Bytes {
    let encoded = match conclude(end, out) {
        // The envelope is written around the result in one pass.
        Ok(result) => encode::success(&end.id, &result).ok(),
        Err(rendered) => {
            Some(Message::from(RpcResponse::error(Some(end.id.clone()), rendered.error)).to_vec())
        }
    };
    let json = encoded.unwrap_or_else(|| {
        Message::from(RpcResponse::error(
            Some(end.id.clone()),
            ErrorObject::internal_error(),
        ))
        .to_vec()
    });
    sse_bytes(json).unwrap_or_default()
}

/// The relay as the body owns it: plain state, polled through `&mut`, with no lock.
struct Detach(Option<Relay>);

impl Detach {
    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match self.0.as_mut() {
            Some(relay) => relay.poll_written(cx),
            None => Poll::Ready(None),
        }
    }
}

/// A legacy client that leaves before the response does not cancel its request: the call
/// goes on (for [`DETACHED_LIMIT`] at most) and its events are recorded for a resuming GET.
/// A modern client leaving is the cancellation, so its call is dropped with the body.
impl Drop for Detach {
    fn drop(&mut self) {
        let Some(mut relay) = self.0.take() else {
            return;
        };
        if relay.finished() || relay.recording.is_none() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let drive = std::future::poll_fn(|cx| {
                loop {
                    match relay.poll_written(cx) {
                        Poll::Ready(Some(_)) => continue,
                        Poll::Ready(None) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            });
            if tokio::time::timeout(DETACHED_LIMIT, drive).await.is_err() {
                tracing::warn!("mcp: a legacy call whose client left did not finish in time");
            }
            if let Some(r) = &relay.recording {
                r.end();
            }
        });
    }
}
