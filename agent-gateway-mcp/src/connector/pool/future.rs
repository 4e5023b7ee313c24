//! [`Future`] types: the [`ResponseFuture`] of a [`Pool`], which retries an
//! idempotent call on another instance when the one it reached failed.
//!
//! ```
//! use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
//! use agent_gateway_mcp::connector::pool::Pool;
//! use agent_gateway_mcp::connector::pool::future::ResponseFuture;
//! use agent_gateway_mcp::error::Rendered;
//! use agent_gateway_mcp::testkit::FakeMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::Map;
//! use tower::{Service, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let mut pool = Pool::builder(UpstreamName::new("fs").unwrap())
//!     .instance(InstanceId::new("a").unwrap(), FakeMcpServer::new())
//!     .build()
//!     .unwrap();
//! let list: ResponseFuture = pool.ready().await.unwrap().call(UpstreamRequest::new("tools/list", Map::new()));
//! assert!(list.await.unwrap()["tools"].is_array());
//! // The server's own error is an answer: passed on as it is, not retried.
//! let err = pool.call(UpstreamRequest::new("no/such", Map::new())).await.unwrap_err();
//! assert_eq!(Rendered::from_error(&*err).error.code, -32601);
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use agent_gateway_core::BoxError;
use agent_gateway_core::response::{Failure, UpstreamCode, UpstreamError};
use agent_gateway_core::upstream::error::is_refusal;
use agent_gateway_core::upstream::registry::UpstreamName;
use pin_project_lite::pin_project;
use serde_json::{Map, Value};
use tower::retry::budget::{Budget, TpsBudget};

use super::Pool;
use super::replica::InstanceFailed;
use super::route::Attempt;
use crate::McpError;
use crate::upstream::{UpstreamRequest, http_status};
use agent_gateway_core::error::cause_ref as find;

pin_project! {
    /// Response future of [`Pool`](super::Pool).
    ///
    /// When an attempt fails because its instance failed (not because the server answered
    /// with an error), an idempotent call is sent again to an instance not tried yet, while
    /// the pool's retry budget allows. The error that finally comes back is the server's own
    /// JSON-RPC error, or [`McpError::UpstreamUnavailable`] /
    /// [`McpError::UpstreamTimeout`] naming the pool.
    pub struct ResponseFuture {
        #[pin]
        attempt: Attempt,
        retry: Option<Retry>,
        name: UpstreamName,
    }
}

/// What a retry needs: the pool, a copy of the request, and the instances already tried.
pub(crate) struct Retry {
    pool: Pool,
    budget: Arc<TpsBudget>,
    request: UpstreamRequest,
    tried: Vec<usize>,
}

impl ResponseFuture {
    pub(crate) fn new(attempt: Attempt, retry: Option<Retry>, name: UpstreamName) -> Self {
        ResponseFuture {
            attempt,
            retry,
            name,
        }
    }
}

impl Retry {
    pub(crate) fn new(pool: Pool, budget: Arc<TpsBudget>, request: UpstreamRequest) -> Self {
        Retry {
            pool,
            budget,
            request,
            tried: Vec::new(),
        }
    }

    /// The next attempt after `error`, if the instance failed, another one is admissible and
    /// the budget allows.
    fn next(&mut self, error: &BoxError) -> Option<Attempt> {
        let failed = find::<InstanceFailed>(&**error)?;
        let instances = self.pool.balanced.upstream().instances();
        let index = instances.iter().position(|i| i.id() == failed.instance())?;
        self.tried.push(index);
        let key = self.request.client().and_then(|c| c.session());
        let choice = self.pool.choose(key, &self.tried)?;
        if !self.budget.withdraw() {
            return None;
        }
        tracing::debug!(upstream = %self.pool.name(), instance = %failed.instance(),
            method = %self.request.method(), "mcp pool: retrying on another instance");
        Some(self.pool.dispatch(choice, self.request.clone()))
    }
}

impl Future for ResponseFuture {
    type Output = Result<Map<String, Value>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let error = match ready!(this.attempt.as_mut().poll(cx)) {
                Ok(result) => return Poll::Ready(Ok(result)),
                Err(error) => error,
            };
            match this.retry.as_mut().and_then(|r| r.next(&error)) {
                Some(next) => this.attempt.set(next),
                None => return Poll::Ready(Err(settle(this.name, error))),
            }
        }
    }
}

/// The error the caller sees: the server's own answer as it is; a failed instance, or no
/// admissible one, as the pool being unavailable (the cause logged here, once).
fn settle(name: &UpstreamName, error: BoxError) -> BoxError {
    let upstream = name.to_string();
    if let Some(failed) = find::<InstanceFailed>(&*error) {
        tracing::warn!(upstream, error = %failed, cause = ?failed_cause(failed), "mcp pool: instance failed");
        if let Some(timeout) = failed.timed_out_after() {
            let timed_out = McpError::UpstreamTimeout { upstream, timeout };
            return Box::new(UpstreamError::new(Failure::Timeout, timed_out));
        }
        // The instance answered an HTTP error status: the client sees the pool unavailable,
        // the audit record what the instance answered.
        let unavailable = McpError::UpstreamUnavailable { upstream };
        return Box::new(match http_status(failed) {
            Some(status) => UpstreamError::new(Failure::Upstream, unavailable)
                .with_code(UpstreamCode::http(status)),
            None => UpstreamError::new(Failure::Unavailable, unavailable),
        });
    }
    if is_refusal(&*error) {
        tracing::debug!(upstream, %error, "mcp pool: no instance admissible");
        return Box::new(McpError::UpstreamUnavailable { upstream });
    }
    error
}

fn failed_cause(failed: &InstanceFailed) -> Option<String> {
    std::error::Error::source(failed).map(ToString::to_string)
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("upstream", &self.name)
            .field("retries", &self.retry.is_some())
            .finish_non_exhaustive()
    }
}
