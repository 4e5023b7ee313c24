//! Why a legacy SSE upstream could not answer, apart from the server's own JSON-RPC errors.

use http::StatusCode;

/// Why a legacy HTTP+SSE upstream could not answer. Each is immediate or bounded: no call
/// waits on a stream that is gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseUpstreamError {
    /// The SSE stream was lost (or the upstream forgot our session) before the answer came.
    #[error("the upstream's SSE stream was lost before it answered")]
    Lost,
    /// The stream or a POST was answered with this status.
    #[error("the upstream answered HTTP {0}")]
    Status(StatusCode),
    /// The `GET` was answered with something other than `text/event-stream`.
    #[error("the upstream's SSE URL did not answer with an event stream")]
    NotEventStream,
    /// No `endpoint` event came within the connect timeout, or the stream ended first.
    #[error("the upstream sent no endpoint event")]
    NoEndpoint,
    /// The `endpoint` event names a URL that is none.
    #[error("the upstream's endpoint event is not a URL")]
    BadEndpoint,
    /// The `endpoint` event names another origin than the SSE URL's: refused, so that our
    /// credential for this upstream goes nowhere else.
    #[error("the upstream's endpoint is on another origin than its SSE URL: refused")]
    CrossOrigin,
    /// The `initialize` handshake failed, or named a version we do not speak.
    #[error("the upstream's initialize failed")]
    Initialize,
    /// Connecting (the stream, its endpoint and the handshake) took longer than the connect
    /// timeout.
    #[error("connecting to the upstream timed out")]
    ConnectTimeout,
    /// The HTTP client failed to reach the upstream.
    #[error("the upstream could not be reached")]
    Unreachable,
}
