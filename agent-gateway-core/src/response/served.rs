//! [`ServedBy`]: which upstream and instance answered a call, as a protocol's router reports it.

use std::sync::Arc;

/// Which upstream, and which of its instances, served a response.
///
/// A protocol's router puts it in the response's extensions (an [`http::Response`]'s, or its
/// own response type returns it from
/// [`AgentResponse::served_by`](super::AgentResponse::served_by)); the audit layer records it.
///
/// ```
/// use agent_gateway_core::response::{AgentResponse, ServedBy};
///
/// let mut res = http::Response::new(());
/// assert!(res.served_by().is_none());
/// res.extensions_mut().insert(ServedBy::new("search").with_instance("search-2"));
/// let served = res.served_by().unwrap();
/// assert_eq!((served.upstream(), served.instance()), ("search", Some("search-2")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedBy {
    upstream: Arc<str>,
    instance: Option<Arc<str>>,
}

impl ServedBy {
    /// Served by `upstream` (an MCP server, an A2A agent, an LLM provider or deployment).
    pub fn new(upstream: impl Into<Arc<str>>) -> Self {
        ServedBy {
            upstream: upstream.into(),
            instance: None,
        }
    }

    /// Names the instance of the upstream that answered.
    pub fn with_instance(mut self, instance: impl Into<Arc<str>>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The upstream's name.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The instance's id, if the upstream has several.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }
}
