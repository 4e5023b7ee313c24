//! Why a stdio upstream could not answer, apart from the server's own JSON-RPC errors.

/// Why a stdio upstream could not answer. Each is immediate or bounded: no call hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StdioError {
    /// The child is not serving: starting, restarting after a crash, or shut down.
    #[error("stdio upstream is not running (starting, restarting, or shut down)")]
    NotRunning,
    /// The child exited before it answered.
    #[error("stdio upstream exited before answering")]
    Exited,
    /// The child did not answer within the request timeout.
    #[error("stdio upstream did not answer in time")]
    Timeout,
    /// The child's input queue is full: it is not reading what it is sent.
    #[error("stdio upstream is not reading its input (queue full)")]
    QueueFull,
}
