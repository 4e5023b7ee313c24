//! The record being built for one call, shared between the audit layer and its taps through the
//! request's extensions.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agent_gateway_core::AgentRequest;

use super::record::{Arguments, AuditRecord, snapshot};

/// One call's record in the making. The [`Audit`](super::Audit) service puts it in the
/// request's extensions; an [`AuditTap`](super::AuditTap) further in refreshes it with what the
/// request has gained since (caller, run id, redacted arguments).
#[derive(Clone)]
pub(super) struct Ticket {
    record: Arc<Mutex<AuditRecord>>,
    arguments: Arguments,
}

impl Ticket {
    pub(super) fn new(req: &dyn AgentRequest, arguments: Arguments) -> Self {
        Ticket {
            record: Arc::new(Mutex::new(snapshot(req, arguments))),
            arguments,
        }
    }

    fn lock(&self) -> MutexGuard<'_, AuditRecord> {
        // Nothing panics while holding it; a poisoned record is still a whole record.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the request again, keeping the time it arrived.
    pub(super) fn refresh(&self, req: &dyn AgentRequest) {
        let mut fresh = snapshot(req, self.arguments);
        let mut record = self.lock();
        fresh.time_ms = record.time_ms;
        *record = fresh;
    }

    /// The record as it stands.
    pub(super) fn take(&self) -> AuditRecord {
        std::mem::take(&mut *self.lock())
    }
}
