//! The SSE body of a notification stream: a modern `subscriptions/listen` answer or a legacy
//! session's GET stream.
//!
//! The body drives the inner listen itself, so dropping it (the client went away) drops the
//! inner call and every upstream listen under it; nothing is spawned. A modern stream opens
//! with the acknowledgment (the inner one, narrowed to what the client asked, or one the front
//! writes when the inner service sent none), tags every notification with the listen
//! request's id, drops any kind the client did not ask for, and ends with the response when
//! the inner call ends. A legacy stream opens with a priming event (an id and no data) and
//! gives every event an id. Idle streams get a comment every [`KEEPALIVE`] so proxies keep
//! them open.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{
    ErrorObject, Id, Message, Notification, Response as RpcResponse,
};
use agent_gateway_core::sse::{Event, comment};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::Response;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};
use tokio::sync::mpsc::Receiver;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use super::Front;
use super::render::{self, ResponseBody, finish_modern, rendered};
use crate::McpResponse;
use crate::era::Era;
use crate::error::Rendered;
use crate::listen::{ACKNOWLEDGED, ListenFilter, tag, untag};
use crate::method::McpMethod;
use crate::notify::{MESSAGE, Outgoing, Relayed, at_or_above};
use crate::session::subscriptions::Watched;

/// How long a legacy client should wait before resuming a broken stream (`retry:`).
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// How long a stream may stay silent before a keep-alive comment.
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(15);

pub(crate) type Outcome = Result<McpResponse, BoxError>;
/// The inner listen call.
pub(crate) type Call = BoxFuture<'static, Outcome>;
/// Starts the inner listen anew with a filter: a legacy GET stream does when its session's
/// subscriptions change.
pub(crate) type Restart = Box<dyn FnMut(ListenFilter) -> (Call, Receiver<Outgoing>) + Send>;

/// Event ids unique to one stream of one session: a random stream id and a sequence number.
#[derive(Debug)]
pub(crate) struct EventIds {
    stream: String,
    next: u64,
}

impl EventIds {
    pub(crate) fn new() -> Self {
        let mut raw = [0u8; 8];
        if SystemRandom::new().fill(&mut raw).is_err() {
            // Uniqueness across streams is what resumption would need; nothing replays here.
            tracing::warn!("mcp: no randomness for SSE event ids");
        }
        let stream = raw.iter().map(|b| format!("{b:02x}")).collect();
        EventIds { stream, next: 0 }
    }

    pub(crate) fn next_id(&mut self) -> String {
        self.next += 1;
        format!("{}-{}", self.stream, self.next)
    }

    /// The stream's own id, the part of every event id before the sequence number.
    pub(crate) fn stream(&self) -> &str {
        &self.stream
    }

    /// The sequence number of the last id given.
    pub(crate) fn seq(&self) -> u64 {
        self.next
    }

    /// The priming event that starts a legacy stream: an id, empty data, and how long a
    /// client should wait before resuming a broken stream.
    pub(crate) fn priming(&mut self) -> Bytes {
        Event::new("")
            .with_id(self.next_id())
            .with_retry(RETRY)
            .to_bytes()
            .unwrap_or_default()
    }
}

/// One JSON-RPC message as an SSE `message` event, with an id when given.
pub(crate) fn event(message: &Message, id: Option<String>) -> Option<Bytes> {
    let data = String::from_utf8(message.to_vec()).ok()?;
    let mut event = Event::new(data).with_event("message");
    if let Some(id) = id {
        event = event.with_id(id);
    }
    event.to_bytes().ok()
}

fn notification(method: &str, params: &Map<String, Value>) -> Option<Message> {
    Notification::new(method)
        .with_params(params)
        .ok()
        .map(Message::from)
}

/// How notifications are written on the stream.
pub(crate) enum Framing {
    /// A `subscriptions/listen` answer.
    Modern {
        id: Id,
        filter: ListenFilter,
        front: Arc<Front>,
        acked: bool,
    },
    /// A session's GET stream. `session` names it for its log level, read as each log message
    /// comes (a client may set it with `logging/setLevel` after the stream opened).
    Legacy {
        ids: EventIds,
        session: Option<(Arc<Front>, String)>,
    },
}

/// A legacy GET stream's link to its session: it listens anew when the session's
/// subscriptions change, and ends when a newer GET stream of the session opens or the session
/// is deleted.
pub(crate) struct Rewatch {
    pub(crate) restart: Restart,
    pub(crate) base: ListenFilter,
    pub(crate) stream: u64,
    pub(crate) changes: BoxFuture<'static, Option<watch::Receiver<Watched>>>,
}

/// Resolves when the watched session changes; `None` once nobody can change it.
pub(crate) fn changed(
    mut rx: watch::Receiver<Watched>,
) -> BoxFuture<'static, Option<watch::Receiver<Watched>>> {
    Box::pin(async move { rx.changed().await.ok().map(|()| rx) })
}

/// `base` with `uris` subscribed.
pub(crate) fn with_uris(base: &ListenFilter, uris: &BTreeSet<String>) -> ListenFilter {
    uris.iter()
        .fold(base.clone(), |f, uri| f.resource(uri.clone()))
}

struct Stream {
    call: Option<Call>,
    outcome: Option<Outcome>,
    notes: Receiver<Outgoing>,
    out: VecDeque<Bytes>,
    framing: Framing,
    rewatch: Option<Rewatch>,
    keepalive: Interval,
    done: bool,
}

impl Stream {
    fn push(&mut self, bytes: Option<Bytes>) {
        if let Some(b) = bytes {
            self.out.push_back(b);
        }
    }

    fn take(&mut self, out: Outgoing) {
        match out {
            Outgoing::Notification(note) => self.frame(note),
            // A listen's notifier carries no requests: refuse one that came anyway.
            Outgoing::Request(req) => req.reply(Err(ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "a notification stream takes no requests",
            ))),
        }
    }

    fn frame(&mut self, (method, mut params): Relayed) {
        untag(&mut params);
        let bytes = match &mut self.framing {
            Framing::Modern {
                id, filter, acked, ..
            } => {
                let mut frames = Vec::new();
                if method == ACKNOWLEDGED {
                    if *acked {
                        return;
                    }
                    // Never acknowledge more than the client asked for.
                    let offered = ListenFilter::from_params(&params).unwrap_or_default();
                    frames.push(ack(id, &filter.intersect(&offered)));
                    *acked = true;
                } else {
                    if !*acked {
                        frames.push(ack(id, filter));
                        *acked = true;
                    }
                    // Log messages reach here only at the level the listen asked for (its
                    // notifier's); change notifications only as its filter admits.
                    if method == MESSAGE || filter.admits(&method, &params) {
                        tag(&mut params, id.to_value());
                        frames.push(notification(&method, &params).and_then(|m| event(&m, None)));
                    }
                }
                frames
            }
            Framing::Legacy { ids, session } => {
                if method == ACKNOWLEDGED {
                    return;
                }
                if method == MESSAGE
                    && let Some((front, id)) = session
                    && !at_or_above(front.store.log_levels.get(id).as_deref(), &params)
                {
                    return;
                }
                let id = ids.next_id();
                vec![notification(&method, &params).and_then(|m| event(&m, Some(id)))]
            }
        };
        for b in bytes {
            self.push(b);
        }
    }

    fn finish(&mut self, out: Outcome) {
        let Framing::Modern {
            id,
            filter,
            front,
            acked,
        } = &mut self.framing
        else {
            // The inner listen of a GET stream ended: so does the stream.
            return;
        };
        let mut frames = Vec::new();
        if !*acked {
            frames.push(ack(id, filter));
            *acked = true;
        }
        let response = match out {
            Ok(res) => {
                let mut result =
                    finish_modern(front, &McpMethod::SubscriptionsListen, res.into_result());
                tag(&mut result, id.to_value());
                RpcResponse::success(id.clone(), &Value::Object(result)).unwrap_or_else(|_| {
                    RpcResponse::error(Some(id.clone()), ErrorObject::internal_error())
                })
            }
            Err(e) => RpcResponse::error(Some(id.clone()), rendered(Era::Modern, &e).error),
        };
        frames.push(event(&Message::from(response), None));
        for b in frames {
            self.push(b);
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        loop {
            if let Some(b) = self.out.pop_front() {
                return Poll::Ready(Some(b));
            }
            if self.done {
                return Poll::Ready(None);
            }
            if let Some(w) = self.rewatch.as_mut()
                && let Poll::Ready(changed) = w.changes.as_mut().poll(cx)
            {
                match changed {
                    Some(rx) if rx.borrow().stream != w.stream => {
                        // A newer GET stream serves the session now.
                        self.call = None;
                        self.done = true;
                    }
                    Some(rx) => {
                        let filter = with_uris(&w.base, &rx.borrow().uris);
                        let (call, notes) = (w.restart)(filter);
                        w.changes = self::changed(rx);
                        self.call = Some(call);
                        self.notes = notes;
                    }
                    None => {
                        // The session was deleted (or expired and purged).
                        self.call = None;
                        self.done = true;
                    }
                }
                continue;
            }
            if let Poll::Ready(Some(out)) = self.notes.poll_recv(cx) {
                self.take(out);
                continue;
            }
            if let Some(call) = self.call.as_mut()
                && let Poll::Ready(out) = call.as_mut().poll(cx)
            {
                self.call = None;
                self.outcome = Some(out);
            }
            if let Some(out) = self.outcome.take() {
                while let Ok(out) = self.notes.try_recv() {
                    self.take(out);
                }
                self.finish(out);
                self.done = true;
                continue;
            }
            if self.keepalive.poll_tick(cx).is_ready() {
                self.out.push_back(comment("keep-alive"));
                continue;
            }
            return Poll::Pending;
        }
    }
}

fn ack(id: &Id, honoured: &ListenFilter) -> Option<Bytes> {
    let mut params = honoured.to_params();
    tag(&mut params, id.to_value());
    notification(ACKNOWLEDGED, &params).and_then(|m| event(&m, None))
}

/// Opens the stream once the inner call admitted it: an error of the inner call that comes
/// before any notification (a policy denial, an unknown method) is answered as a plain error
/// instead.
pub(crate) async fn open(
    mut call: Call,
    mut notes: Receiver<Outgoing>,
    framing: Framing,
    rewatch: Option<Rewatch>,
) -> Result<Response<ResponseBody>, Rendered> {
    let era = match framing {
        Framing::Modern { .. } => Era::Modern,
        Framing::Legacy { .. } => Era::Legacy,
    };
    let first = tokio::select! {
        biased;
        Some(note) = notes.recv() => Err(note),
        out = &mut call => Ok(out),
    };
    let (call, outcome, first) = match first {
        Err(note) => (Some(call), None, Some(note)),
        Ok(Err(e)) if notes.is_empty() => return Err(rendered(era, &e)),
        Ok(out) => (None, Some(out), None),
    };
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stream = Stream {
        call,
        outcome,
        notes,
        out: VecDeque::new(),
        framing,
        rewatch,
        keepalive,
        done: false,
    };
    if let Framing::Legacy { ids, .. } = &mut stream.framing {
        let priming = ids.priming();
        stream.out.push_back(priming);
    }
    if let Some(out) = first {
        stream.take(out);
    }
    Ok(render::sse(futures_util::stream::poll_fn(move |cx| {
        stream.poll_next(cx)
    })))
}
