//! Run ids: the handle that ties every call of one agent workflow together.
//!
//! ```
//! use agent_gateway_core::RunId;
//!
//! let run = RunId::new("run-42").unwrap();
//! assert_eq!(run.as_str(), "run-42");
//! assert!(RunId::new("").is_err());
//! assert!(RunId::new("bad\nid").is_err());
//! ```

use std::fmt;
use std::sync::Arc;

/// The longest run id accepted, in bytes.
pub const MAX_RUN_ID_LEN: usize = 256;

/// The request header that names a run explicitly (`agw-run-id: <id>`): the first place the
/// run layer looks for the run a call belongs to.
pub const RUN_ID_HEADER: &str = "agw-run-id";

/// The request header carrying a run's signed remaining budget to the next hop.
///
/// The gateway adds it to every upstream request made inside a run; an agent that calls back
/// through the gateway copies it onto those calls, as it copies `traceparent`. Protocol
/// routers forward it to upstreams (it holds no credential: only a signed remainder).
pub const RUN_BUDGET_HEADER: &str = "agw-run-budget";

/// The id of a run, one agent workflow.
///
/// Run budgets (steps, tool calls, tokens, cost) are counted per run. The id comes from an
/// explicit run header, else the protocol's session, context or task, else the W3C trace id.
/// It is visible ASCII only, so it is safe in headers, counter keys and logs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Arc<str>);

/// The error returned for a run id that is empty, too long or not visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid run id: {0}")]
pub struct InvalidRunId(&'static str);

impl RunId {
    /// Validates and wraps a run id.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidRunId> {
        let id = id.as_ref();
        if id.is_empty() {
            return Err(InvalidRunId("empty"));
        }
        if id.len() > MAX_RUN_ID_LEN {
            return Err(InvalidRunId("longer than 256 bytes"));
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidRunId("not visible ASCII"));
        }
        Ok(RunId(id.into()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({})", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for RunId {
    type Error = InvalidRunId;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        RunId::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(RunId::new("a").is_ok());
        assert!(RunId::new("x".repeat(MAX_RUN_ID_LEN)).is_ok());
        assert!(RunId::new("x".repeat(MAX_RUN_ID_LEN + 1)).is_err());
        assert!(RunId::new("with space").is_err());
        assert!(RunId::new("é").is_err());
    }
}
