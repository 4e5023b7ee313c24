//! The tie between a request and the owner of the legacy session it came on.
//!
//! The front cannot see who calls: the user's auth layer, inside the inner service, says so.
//! So the front puts a [`SessionBinding`] in the request's extensions, and the end of the
//! stack (this crate's routers, or anyone calling
//! [`McpRequest::check_session_owner`](crate::McpRequest::check_session_owner)) compares the
//! caller the policy stack established with the session's sealed owner before anything else
//! happens, and records who it was. The front reads that record when it seals a new
//! session's owner, and before it acts on a session itself (DELETE, a cancellation, a client's
//! answer, a resumed stream).

use std::sync::{Arc, OnceLock};

use crate::McpError;

/// What a request's legacy session expects of its caller; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct SessionBinding {
    expected: Expected,
    /// The caller the end of the stack saw (its owner digest; `None`: no caller).
    seen: Arc<OnceLock<Option<[u8; 16]>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    /// `initialize`: the session is being opened by whoever this is.
    Opening,
    /// A request on a session sealed for this owner.
    Owner(Option<[u8; 16]>),
}

impl SessionBinding {
    /// For an `initialize`, which opens a session for its caller.
    pub(crate) fn opening() -> Self {
        SessionBinding {
            expected: Expected::Opening,
            seen: Arc::default(),
        }
    }

    /// For a request on a session sealed for `owner`.
    pub(crate) fn on(owner: Option<[u8; 16]>) -> Self {
        SessionBinding {
            expected: Expected::Owner(owner),
            seen: Arc::default(),
        }
    }

    /// Records `caller` (an owner digest, `None` for no caller) as the request's caller;
    /// session-not-found unless it owns the session.
    pub(crate) fn check(&self, caller: Option<[u8; 16]>) -> Result<(), McpError> {
        // The first record wins: a stream's restarted listens come from the same request.
        let _ = self.seen.set(caller);
        match self.expected {
            Expected::Owner(owner) if owner != caller => Err(McpError::SessionNotFound),
            _ => Ok(()),
        }
    }

    /// The caller the end of the stack recorded, if it recorded one.
    pub(crate) fn seen(&self) -> Option<Option<[u8; 16]>> {
        self.seen.get().copied()
    }

    /// Whether the request's caller owns the session: the caller recorded by the end of the
    /// stack or, when nothing recorded one (an inner service that does not check),
    /// `fallback`.
    pub(crate) fn owned_by_caller(&self, fallback: Option<[u8; 16]>) -> bool {
        let caller = self.seen().unwrap_or(fallback);
        match self.expected {
            Expected::Owner(owner) => owner == caller,
            Expected::Opening => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_passes_anyone_else_is_not_found() {
        let (a, b) = ([1u8; 16], [2u8; 16]);
        let on = SessionBinding::on(Some(a));
        assert!(on.check(Some(a)).is_ok());
        assert_eq!(on.seen(), Some(Some(a)));
        assert!(on.owned_by_caller(None), "the recorded caller counts");
        let other = SessionBinding::on(Some(a));
        assert!(matches!(
            other.check(Some(b)),
            Err(McpError::SessionNotFound)
        ));
        assert!(!other.owned_by_caller(Some(a)));
        assert!(matches!(
            SessionBinding::on(Some(a)).check(None),
            Err(McpError::SessionNotFound)
        ));
        // Sealed without an owner: only a request without a caller either.
        assert!(SessionBinding::on(None).check(None).is_ok());
        assert!(SessionBinding::on(None).check(Some(a)).is_err());
        // Nothing recorded: the fallback decides.
        assert!(SessionBinding::on(Some(a)).owned_by_caller(Some(a)));
        assert!(!SessionBinding::on(Some(a)).owned_by_caller(None));
        let opening = SessionBinding::opening();
        assert!(opening.check(Some(b)).is_ok());
        assert_eq!(opening.seen(), Some(Some(b)));
    }
}
