//! The record being built for one call, shared between the audit layer and its taps through the
//! request's extensions.
//!
//! The request is read in two parts. Its identity (caller, action, target, run, trace) is
//! cheap, and every tap reads it again, since auth and run resolution add to it on the way in.
//! Its arguments are costly (serialised and hashed whole: a whole model body for an LLM call),
//! so they are read once, by the outermost audit layer, and again by a tap only when a
//! guardrail has rewritten them since ([`Rewritten`]): the record then holds the arguments as
//! they went upstream (redacted), and an unrewritten call is serialised exactly once.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agent_gateway_core::AgentRequest;

use super::record::{Arguments, AuditRecord, now_ms, read_arguments, read_identity};
use crate::guard::Rewritten;

/// One call's record in the making. The [`Audit`](super::Audit) service puts it in the
/// request's extensions; an [`AuditTap`](super::AuditTap) further in refreshes it with what the
/// request has gained since (caller, run id, redacted arguments).
#[derive(Clone)]
pub(super) struct Ticket {
    draft: Arc<Mutex<Draft>>,
    arguments: Arguments,
}

struct Draft {
    record: AuditRecord,
    /// The guardrail rewrites the request carried when its arguments were read.
    rewritten: Option<Rewritten>,
}

impl Ticket {
    pub(super) fn new(req: &dyn AgentRequest, arguments: Arguments) -> Self {
        let mut record = AuditRecord {
            time_ms: now_ms(),
            ..AuditRecord::default()
        };
        read_identity(&mut record, req);
        read_arguments(&mut record, req, arguments);
        let rewritten = req.extensions().get::<Rewritten>().cloned();
        Ticket {
            draft: Arc::new(Mutex::new(Draft { record, rewritten })),
            arguments,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Draft> {
        // Nothing panics while holding it; a poisoned record is still a whole record.
        self.draft.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the request's identity again, and its arguments if a guardrail rewrote them since
    /// they were read; keeps the time the call arrived.
    pub(super) fn refresh(&self, req: &dyn AgentRequest) {
        let mut draft = self.lock();
        read_identity(&mut draft.record, req);
        let rewritten = req.extensions().get::<Rewritten>();
        if rewritten != draft.rewritten.as_ref() {
            read_arguments(&mut draft.record, req, self.arguments);
            draft.rewritten = rewritten.cloned();
        }
    }

    /// The record as it stands.
    pub(super) fn take(&self) -> AuditRecord {
        std::mem::take(&mut self.lock().record)
    }
}
