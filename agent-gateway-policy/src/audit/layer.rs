//! [`AuditLayer`]: one audit record per call, for every route and protocol it wraps.

use std::fmt;

use tower::Layer;

use super::record::Arguments;
use super::{Audit, AuditLog};

/// Writes one record per call to an [`AuditLog`], through an [`Audit`] service; see the
/// [module docs](super).
///
/// The log is created before the layer and shared by every service it wraps, so one chain
/// holds every route's and protocol's calls.
#[derive(Clone)]
#[must_use]
pub struct AuditLayer {
    log: AuditLog,
    arguments: Arguments,
}

impl AuditLayer {
    /// Records calls in `log`, with a digest of their arguments.
    pub fn new(log: AuditLog) -> Self {
        AuditLayer {
            log,
            arguments: Arguments::Digest,
        }
    }

    /// Whether records keep the arguments themselves, or only their digest (the default).
    pub fn with_arguments(mut self, arguments: Arguments) -> Self {
        self.arguments = arguments;
        self
    }

    /// The log, for its counters and [`flush`](AuditLog::flush).
    pub fn log(&self) -> &AuditLog {
        &self.log
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Audit<S> {
        Audit {
            inner,
            log: self.log.clone(),
            arguments: self.arguments,
        }
    }
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("log", &self.log)
            .field("arguments", &self.arguments)
            .finish()
    }
}
