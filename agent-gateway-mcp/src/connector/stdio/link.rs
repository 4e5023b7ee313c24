//! The connection to one running child: requests in flight by id, and what the child's
//! stdout lines mean (responses, progress, log messages, its own requests).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::jsonrpc::Message;
use tokio::sync::mpsc;

use super::Shared;
use super::error::StdioError;
use crate::connector::mux::Pending;
use crate::notify::{MESSAGE, PROGRESS};

/// The lines waiting for a child's stdin, bounded by bytes: the writer task takes each off
/// the count once written.
#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    max: usize,
}

impl Writer {
    pub(super) fn new(
        tx: mpsc::UnboundedSender<Vec<u8>>,
        queued: Arc<AtomicUsize>,
        max: usize,
    ) -> Self {
        Writer { tx, queued, max }
    }

    /// The bytes waiting now.
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Queues one line; [`StdioError::QueueFull`] when it does not fit.
    pub(super) fn send(&self, line: Vec<u8>) -> Result<(), StdioError> {
        let n = line.len();
        let taken = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| {
                (q.saturating_add(n) <= self.max).then_some(q + n)
            });
        if taken.is_err() {
            return Err(StdioError::QueueFull);
        }
        self.tx.send(line).map_err(|_| {
            self.queued.fetch_sub(n, Ordering::SeqCst);
            StdioError::NotRunning
        })
    }
}

/// One running child: the line writer to its stdin and the requests in flight.
pub(super) struct Link {
    pub(super) writer: Writer,
    pub(super) pending: HashMap<i64, Pending>,
    /// Set once the `initialize` handshake is done: only then are requests taken.
    pub(super) ready: bool,
}

impl Link {
    pub(super) fn new(writer: Writer) -> Self {
        Link {
            writer,
            pending: HashMap::new(),
            ready: false,
        }
    }

    /// Queues one encoded message as a line for the child's stdin.
    pub(super) fn send(&self, mut line: Vec<u8>) -> Result<(), StdioError> {
        line.push(b'\n');
        self.writer.send(line)
    }

    /// Fails every request in flight: the child is gone.
    pub(super) fn fail_all(&mut self) {
        for (_, p) in self.pending.drain() {
            let _ = p.answer.send(Err(Box::new(StdioError::Exited)));
        }
    }
}

/// Handles one line of the child's stdout.
pub(super) fn incoming(shared: &Shared, line: &[u8]) {
    let Ok(message) = Message::from_slice(line) else {
        tracing::debug!(upstream = %shared.label, "mcp stdio: skipped a line that is no JSON-RPC");
        return;
    };
    let Ok(mut slot) = shared.slot.lock() else {
        return;
    };
    let Some(link) = slot.as_mut() else { return };
    match message {
        Message::Response(r) => crate::connector::mux::settle(&mut link.pending, r),
        Message::Notification(n) if n.method == PROGRESS => {
            crate::connector::mux::progress(&link.pending, n.params_object());
        }
        Message::Notification(n) if n.method == MESSAGE => {
            // Log messages on stdio name no request: they are the server's, not one call's.
            // They go to the listens whose client asked for their level (nobody listening is
            // fine).
            let params = n.params_object();
            tracing::debug!(upstream = %shared.label, level = ?params.get("level"), "mcp stdio: upstream log");
            let _ = shared
                .changes
                .send(super::listen::Change::Note((n.method, params)));
        }
        Message::Notification(n) if super::listen::is_change(&n.method) => {
            let params = n.params_object();
            let note = (n.method, params);
            // Nobody listening is fine.
            let _ = shared.changes.send(super::listen::Change::Note(note));
        }
        Message::Notification(_) => {}
        Message::Request(r) => {
            // The transport names no request a server's request relates to: it goes only to a
            // call proven to own it (one named in `_meta`, or the only call in flight), when
            // that call's client can be asked (a legacy client is sent it, a modern one gets it
            // as `input_required`), and is refused otherwise (finding 20).
            let asked =
                crate::connector::mux::owning_call(&link.pending, &r.method, &r.params_object());
            let writer = link.writer.clone();
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                return;
            };
            handle.spawn(async move {
                let mut line = crate::notify::answer_request(asked.as_ref(), r)
                    .await
                    .to_vec();
                line.push(b'\n');
                let _ = writer.send(line);
            });
        }
    }
}
