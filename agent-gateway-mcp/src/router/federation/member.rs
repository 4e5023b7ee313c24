//! One federated upstream: its name, its service, its timeout and its tool view.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use agent_gateway_core::{BoxError, Denied};
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use crate::McpError;
use crate::naming::ServerName;
use crate::upstream::{BoxUpstream, UpstreamRequest, http_status, tag_upstream};
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::{Failure, UpstreamCode, UpstreamError};

/// The default time an upstream has to answer one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which of an upstream's tools this gateway shows, independent of authorization: an include
/// list (all tools when absent) minus an exclude list. Names are the upstream's own.
#[derive(Debug, Clone, Default)]
pub struct ToolView {
    include: Option<HashSet<String>>,
    exclude: HashSet<String>,
}

impl ToolView {
    /// Every tool.
    pub fn all() -> Self {
        ToolView::default()
    }

    /// Only these tools.
    pub fn include<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        ToolView {
            include: Some(names.into_iter().map(Into::into).collect()),
            exclude: HashSet::new(),
        }
    }

    /// Hides these tools too.
    pub fn exclude<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.exclude.extend(names.into_iter().map(Into::into));
        self
    }

    /// Whether the tool named `name` (upstream name) is shown and callable.
    pub fn allows(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|i| i.contains(name)) && !self.exclude.contains(name)
    }
}

/// One upstream server of a federation.
#[derive(Debug, Clone)]
pub struct Member {
    pub(crate) name: ServerName,
    pub(crate) service: BoxUpstream,
    pub(crate) timeout: Duration,
    pub(crate) view: ToolView,
    pub(crate) prefixed: bool,
}

impl Member {
    /// The upstream `name`, served by `service`, with the default timeout and every tool shown.
    pub fn new<S>(name: ServerName, service: S) -> Self
    where
        S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Member {
            name,
            service: BoxUpstream::new(service),
            timeout: DEFAULT_TIMEOUT,
            view: ToolView::all(),
            prefixed: true,
        }
    }

    /// Shows this upstream's names as they are, with no server prefix (at most one member of
    /// a federation). Names stay unambiguous: a name whose prefix is another member's server
    /// name belongs to that member, and such a name of this upstream is hidden from listings.
    /// Useful to put a gateway in front of one main server that others are added to.
    pub fn without_prefix(mut self) -> Self {
        self.prefixed = false;
        self
    }

    /// Gives the upstream `timeout` to answer each request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Shows only the tools `view` allows.
    pub fn with_view(mut self, view: ToolView) -> Self {
        self.view = view;
        self
    }

    /// The upstream's name.
    pub fn name(&self) -> &ServerName {
        &self.name
    }

    /// Sends one request, within the timeout. A JSON-RPC error or a denial from the upstream
    /// is passed on; any other failure becomes [`McpError::UpstreamUnavailable`], logged here.
    ///
    /// The future owns what it needs (a clone of the service, the name and the timeout), so
    /// a router can hand it on without cloning the whole member.
    pub(crate) fn send(
        &self,
        req: UpstreamRequest,
    ) -> impl Future<Output = Result<Map<String, Value>, BoxError>> + Send + 'static {
        let call = self.service.clone().oneshot(req);
        let (name, timeout) = (self.name.clone(), self.timeout);
        async move {
            // Every failure the upstream caused is tagged as its own for the audit record
            // (`tag_upstream`); the HTTP status of an answer with no JSON-RPC response is kept
            // there, though the client only sees the upstream unavailable.
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(result)) => Ok(result),
                Ok(Err(e))
                    if cause_ref::<McpError>(e.as_ref()).is_some()
                        || Denied::find(e.as_ref()).is_some() =>
                {
                    Err(tag_upstream(e))
                }
                Ok(Err(e)) => {
                    tracing::warn!(upstream = %name, error = %e, "mcp: upstream failed");
                    let unavailable = McpError::UpstreamUnavailable {
                        upstream: name.to_string(),
                    };
                    Err(Box::new(match http_status(e.as_ref()) {
                        Some(status) => UpstreamError::new(Failure::Upstream, unavailable)
                            .with_code(UpstreamCode::http(status)),
                        None => UpstreamError::new(Failure::Unavailable, unavailable),
                    }) as BoxError)
                }
                Err(_) => {
                    tracing::warn!(upstream = %name, ?timeout, "mcp: upstream timed out");
                    let timed_out = McpError::UpstreamTimeout {
                        upstream: name.to_string(),
                        timeout,
                    };
                    Err(Box::new(UpstreamError::new(Failure::Timeout, timed_out)) as BoxError)
                }
            }
        }
    }
}
