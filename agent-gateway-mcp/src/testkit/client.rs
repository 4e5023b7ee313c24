//! An in-process MCP client over any HTTP service, in a chosen era.

use agent_gateway_core::BoxError;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use crate::connector::HttpUpstream;
use crate::error::find;
use crate::listen::{LISTEN, ListenFilter};
use crate::notify::{Notifier, Outgoing, Relayed};
use crate::upstream::UpstreamRequest;
use crate::{Era, McpError};

/// An open listen of an [`McpClient`]: the notifications as they come. Dropping it ends the
/// listen.
#[derive(Debug)]
pub struct Listening {
    notes: tokio::sync::mpsc::Receiver<Outgoing>,
    task: tokio::task::JoinHandle<Result<Map<String, Value>, ClientError>>,
}

impl Listening {
    /// The next notification (method and params), the acknowledgment first; `None` once the
    /// listen has ended.
    pub async fn next(&mut self) -> Option<Relayed> {
        loop {
            // A listen's notifier carries no requests; anything else is skipped.
            if let Outgoing::Notification(note) = self.notes.recv().await? {
                return Some(note);
            }
        }
    }

    /// Ends the listen, and gives its outcome if it had ended on its own.
    pub async fn close(mut self) -> Option<Result<Map<String, Value>, ClientError>> {
        if !self.task.is_finished() {
            self.task.abort();
            return None;
        }
        (&mut self.task).await.ok()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An MCP client driving an HTTP service in-process (a front, a fake server over HTTP).
#[derive(Debug, Clone)]
pub struct McpClient<C> {
    upstream: HttpUpstream<C>,
}

/// A failed client call.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(#[source] BoxError);

impl ClientError {
    /// The JSON-RPC error code the server answered with, if it answered with one.
    pub fn code(&self) -> Option<i64> {
        match find::<McpError>(self.0.as_ref())? {
            McpError::Upstream(e) => Some(e.code),
            _ => None,
        }
    }

    /// The JSON-RPC error message, if the server answered with one.
    pub fn message(&self) -> Option<String> {
        match find::<McpError>(self.0.as_ref())? {
            McpError::Upstream(e) => Some(e.message.to_string()),
            _ => None,
        }
    }
}

impl<C, B> McpClient<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// A client speaking `era` to `service` at `http://mcp.test/mcp`.
    pub fn new(service: C, era: Era) -> Self {
        let uri = http::Uri::from_static("http://mcp.test/mcp");
        McpClient {
            upstream: HttpUpstream::new(service, uri).with_era(era),
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn with_bearer(mut self, token: &str) -> Self {
        if let Ok(v) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
            self.upstream = self
                .upstream
                .with_authorization(agent_gateway_core::Secret::new(v));
        }
        self
    }

    /// A modern (2026-07-28) client.
    pub fn modern(service: C) -> Self {
        McpClient::new(service, Era::Modern)
    }

    /// A legacy (2025-11-25) client: it runs `initialize` on first use.
    pub fn legacy(service: C) -> Self {
        McpClient::new(service, Era::Legacy)
    }

    /// Sends `method` with `params`; the result object.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Map<String, Value>, ClientError> {
        let params = match params {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.upstream
            .clone()
            .oneshot(UpstreamRequest::new(method, params))
            .await
            .map_err(ClientError)
    }

    /// Opens a listen for what `filter` asks: `subscriptions/listen` for a modern client; for
    /// a legacy one, the session's GET stream and `resources/subscribe` for each URI. Runs on
    /// a spawned task until the [`Listening`] is dropped.
    pub fn listen(&self, filter: ListenFilter) -> Listening {
        let (notifier, notes) = Notifier::listen(filter.clone());
        let req = UpstreamRequest::new(LISTEN, filter.to_params()).with_notifier(Some(notifier));
        let call = self.upstream.clone().oneshot(req);
        let task = tokio::spawn(async move { call.await.map_err(ClientError) });
        Listening { notes, task }
    }

    /// `tools/list`: the tools, every page followed (up to 1000 pages).
    pub async fn list_tools(&self) -> Result<Vec<Value>, ClientError> {
        let mut tools = Vec::new();
        let mut params = Value::Null;
        for _ in 0..1000 {
            let mut r = self.request("tools/list", params).await?;
            if let Some(Value::Array(page)) = r.remove("tools") {
                tools.extend(page);
            }
            match r.remove("nextCursor") {
                Some(Value::String(c)) => params = serde_json::json!({"cursor": c}),
                _ => break,
            }
        }
        Ok(tools)
    }

    /// `tools/call`: the `CallToolResult`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        let params = serde_json::json!({"name": name, "arguments": arguments});
        self.request("tools/call", params).await.map(Value::Object)
    }
}
