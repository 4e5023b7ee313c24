//! One instance of a pool: its connector behind an attempt timeout, and the error that says
//! the instance itself failed (as opposed to the server answering with an error).

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::upstream::classify::Classify;
use agent_gateway_core::upstream::registry::InstanceId;
use agent_gateway_core::{BoxError, Denied};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use super::idempotent::is_idempotent;
use crate::McpError;
use crate::upstream::{BoxUpstream, UpstreamRequest, http_status};
use agent_gateway_core::error::cause_ref as find;

/// A connector wrapped for the registry: idempotent calls get the attempt timeout, and a
/// failure of the instance (transport, status, timeout) is tagged with the instance's id.
#[derive(Clone)]
pub(crate) struct Replica {
    inner: BoxUpstream,
    id: InstanceId,
    timeout: Duration,
}

impl Replica {
    pub(crate) fn new(inner: BoxUpstream, id: InstanceId, timeout: Duration) -> Self {
        Replica { inner, id, timeout }
    }
}

impl Service<UpstreamRequest> for Replica {
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Map<String, Value>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the connector is awaited in the call, on a clone.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let inner = self.inner.clone();
        let id = self.id.clone();
        let timeout = is_idempotent(req.method_name()).then_some(self.timeout);
        let slot = req.answered_by().cloned();
        Box::pin(async move {
            let call = inner.oneshot(req);
            let result = match timeout {
                Some(t) => match tokio::time::timeout(t, call).await {
                    Ok(result) => result,
                    Err(_) => {
                        if let Some(slot) = &slot {
                            slot.set(None);
                        }
                        return Err(InstanceFailed::timed_out(id, t).into());
                    }
                },
                None => call.await,
            };
            // This instance answered (a result, an error of its own, an HTTP error status), or
            // the call got no answer from it.
            if let Some(slot) = &slot {
                let answered = match &result {
                    Ok(_) => true,
                    Err(e) => answered(&**e) || http_status(&**e).is_some(),
                };
                slot.set(answered.then(|| Arc::from(id.as_str())));
            }
            result.map_err(|e| {
                if answered(&*e) {
                    e
                } else {
                    InstanceFailed::failed(id, e).into()
                }
            })
        })
    }
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replica")
            .field("id", &self.id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Whether an error is the server's (or a policy's) answer, so says nothing against the
/// instance's health: a JSON-RPC error relayed from the upstream, a denial, a bad request.
fn answered(error: &(dyn Error + 'static)) -> bool {
    if Denied::find(error).is_some() {
        return true;
    }
    match find::<McpError>(error) {
        Some(McpError::UpstreamUnavailable { .. } | McpError::UpstreamTimeout { .. }) | None => {
            false
        }
        Some(_) => true,
    }
}

/// The instance failed to answer: it could not be reached, answered with no JSON-RPC
/// response, or did not answer within the attempt timeout.
#[derive(Debug)]
pub(crate) struct InstanceFailed {
    instance: InstanceId,
    timed_out: Option<Duration>,
    source: Option<BoxError>,
}

impl InstanceFailed {
    fn failed(instance: InstanceId, source: BoxError) -> Self {
        InstanceFailed {
            instance,
            timed_out: None,
            source: Some(source),
        }
    }

    fn timed_out(instance: InstanceId, after: Duration) -> Self {
        InstanceFailed {
            instance,
            timed_out: Some(after),
            source: None,
        }
    }

    /// The instance that failed.
    pub(crate) fn instance(&self) -> &InstanceId {
        &self.instance
    }

    /// The attempt timeout that passed, if that is how it failed.
    pub(crate) fn timed_out_after(&self) -> Option<Duration> {
        self.timed_out
    }
}

impl fmt::Display for InstanceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timed_out {
            Some(t) => write!(f, "instance {} timed out after {t:?}", self.instance),
            None => write!(f, "instance {} failed", self.instance),
        }
    }
}

impl Error for InstanceFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// The pool's failure classifier, for the breakers and the retries: only a failure of the
/// instance itself counts, never the server's own JSON-RPC error.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Health;

impl Classify<Map<String, Value>, BoxError> for Health {
    fn is_failure(&self, result: &Result<Map<String, Value>, BoxError>) -> bool {
        result
            .as_ref()
            .is_err_and(|e| find::<InstanceFailed>(&**e).is_some())
    }
}
