//! The error a counter store returns when it cannot decide.

use crate::BoxError;

/// A counter store could not answer, so the decision it was asked for was not made.
///
/// A policy layer treats any of these as "unknown" and fails closed (denies) unless it was
/// configured to fail open; it never guesses a count.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or returned an error; `source` says why.
    #[error("counter store unavailable")]
    Unavailable {
        /// The underlying failure, for logs.
        #[source]
        source: BoxError,
    },
    /// The store did not answer in time. Whether the operation was applied is unknown.
    #[error("counter store timed out")]
    Timeout,
}

impl StoreError {
    /// A [`StoreError::Unavailable`] caused by `source`.
    ///
    /// Accepts any error type, or a message.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable {
            source: source.into(),
        }
    }
}
