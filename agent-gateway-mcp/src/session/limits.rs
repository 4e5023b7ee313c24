//! How much the live tables of a [`SessionStore`] may hold, per owner and in all.

use super::SessionStore;
use super::{bounded, pending, resume, subscriptions};

/// The bounds of a [`SessionStore`]'s tables. Each table gives every owner (the caller a
/// legacy session belongs to) a share, so one caller filling its share is refused with a clear
/// error while the others are still served. The defaults are the crate's named constants.
///
/// ```
/// use std::sync::Arc;
/// use agent_gateway_mcp::session::{SessionLimits, SessionStore};
///
/// let limits = SessionLimits::default()
///     .with_subscriptions(1000, 10, 64)
///     .with_resumable(512, 32, 64 << 20, 8 << 20);
/// let store = Arc::new(SessionStore::with_limits(limits));
/// assert_eq!(store.limits(), &limits);
/// assert_eq!(limits.subscriptions(), (1000, 10, 64));
/// assert_eq!(limits.pending(), SessionLimits::default().pending());
/// assert_ne!(limits, SessionLimits::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub(crate) subscriptions: subscriptions::Limits,
    pub(crate) resumable: resume::Limits,
    pub(crate) pending: (usize, usize),
    pub(crate) revoked: (usize, usize),
    pub(crate) log_levels: (usize, usize),
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            subscriptions: subscriptions::Limits::default(),
            resumable: resume::Limits::default(),
            pending: (pending::MAX_PENDING, pending::MAX_PENDING_PER_OWNER),
            revoked: (bounded::MAX_REVOKED, bounded::MAX_REVOKED_PER_OWNER),
            log_levels: (bounded::MAX_LOG_LEVELS, bounded::MAX_LOG_LEVELS_PER_OWNER),
        }
    }
}

impl SessionLimits {
    /// At most `sessions` sessions hold resource subscriptions (default 10,000),
    /// `per_owner` of them for one owner (64), each with at most `uris` URIs (256).
    pub fn with_subscriptions(mut self, sessions: usize, per_owner: usize, uris: usize) -> Self {
        self.subscriptions = subscriptions::Limits {
            sessions,
            sessions_per_owner: per_owner,
            uris_per_session: uris,
        };
        self
    }

    /// At most `streams` resumable answer streams (default 4096), `streams_per_owner` for one
    /// owner (512), holding at most `bytes` recorded bytes (256 MiB), `bytes_per_owner` for
    /// one owner (32 MiB).
    pub fn with_resumable(
        mut self,
        streams: usize,
        streams_per_owner: usize,
        bytes: usize,
        bytes_per_owner: usize,
    ) -> Self {
        self.resumable = resume::Limits {
            streams,
            streams_per_owner,
            total_bytes: bytes,
            owner_bytes: bytes_per_owner,
        };
        self
    }

    /// At most `max` server→client requests wait for clients' answers (default 4096),
    /// `per_owner` for one owner's clients (256).
    pub fn with_pending(mut self, max: usize, per_owner: usize) -> Self {
        self.pending = (max, per_owner);
        self
    }

    /// At most `max` ended sessions are remembered until they expire (default 65,536),
    /// `per_owner` for one owner (4096). When full, DELETE is refused (503) rather than a
    /// session forgotten as ended.
    pub fn with_revoked(mut self, max: usize, per_owner: usize) -> Self {
        self.revoked = (max, per_owner);
        self
    }

    /// At most `max` sessions' log levels are remembered (default 65,536), `per_owner` for
    /// one owner (1024); past either, the oldest setting goes.
    pub fn with_log_levels(mut self, max: usize, per_owner: usize) -> Self {
        self.log_levels = (max, per_owner);
        self
    }
}

impl SessionLimits {
    /// The subscription bounds: sessions in all, sessions per owner, URIs per session.
    pub fn subscriptions(&self) -> (usize, usize, usize) {
        let l = &self.subscriptions;
        (l.sessions, l.sessions_per_owner, l.uris_per_session)
    }

    /// The resumable-stream bounds: streams in all, streams per owner, bytes in all, bytes
    /// per owner.
    pub fn resumable(&self) -> (usize, usize, usize, usize) {
        let l = &self.resumable;
        (l.streams, l.streams_per_owner, l.total_bytes, l.owner_bytes)
    }

    /// The pending server→client request bounds: in all, per owner.
    pub fn pending(&self) -> (usize, usize) {
        self.pending
    }

    /// The ended-session bounds: in all, per owner.
    pub fn revoked(&self) -> (usize, usize) {
        self.revoked
    }

    /// The log-level bounds: in all, per owner.
    pub fn log_levels(&self) -> (usize, usize) {
        self.log_levels
    }
}

impl SessionStore {
    /// An empty store whose tables hold at most what `limits` allows.
    pub fn with_limits(limits: SessionLimits) -> Self {
        SessionStore {
            pending: pending::PendingRequests::new(limits.pending.0, limits.pending.1),
            log_levels: bounded::LogLevels::new(limits.log_levels.0, limits.log_levels.1),
            revoked: bounded::Revoked::new(limits.revoked.0, limits.revoked.1),
            cancels: Default::default(),
            resumable: std::sync::Arc::new(resume::Resumable::new(limits.resumable)),
            subscriptions: subscriptions::Subscriptions::new(limits.subscriptions),
            limits,
        }
    }

    /// The bounds of this store's tables.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }
}
