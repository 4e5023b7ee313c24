//! An in-process MCP client over any HTTP service, in a chosen era.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::transport::HttpTransport;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value};
use tower::{Service, ServiceExt};

use crate::connector::HttpUpstream;
use crate::listen::{LISTEN, ListenFilter};
use crate::notify::{Notifier, Outgoing, Relayed};
use crate::upstream::UpstreamRequest;
use crate::{Era, McpError};
use agent_gateway_core::error::cause_ref;

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

tokio::task_local! {
    /// The HTTP status of the last answer the current client call got.
    static LAST_STATUS: Cell<Option<StatusCode>>;
}

/// The client's service, noting each answer's HTTP status for the call that awaits it.
#[derive(Debug, Clone)]
pub(crate) struct Noting<C>(C);

impl<C, B> Service<Request<Full<Bytes>>> for Noting<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>>,
    C::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, C::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        let call = self.0.call(req);
        Box::pin(async move {
            let res = call.await?;
            // Outside a client call (nobody to tell) this does nothing.
            let _ = LAST_STATUS.try_with(|s| s.set(Some(res.status())));
            Ok(res)
        })
    }
}

/// An MCP client driving an HTTP service in-process (a front, a fake server over HTTP).
#[derive(Debug, Clone)]
pub struct McpClient<C> {
    service: C,
    upstream: HttpUpstream<Noting<C>>,
}

/// A failed client call: the error, and the HTTP status of the answer that carried it.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct ClientError {
    #[source]
    source: BoxError,
    status: Option<StatusCode>,
}

/// A raw HTTP answer (see [`McpClient::raw`]).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl ClientError {
    fn new(source: BoxError, status: Option<StatusCode>) -> Self {
        ClientError { source, status }
    }

    /// The HTTP status of the answer, if one came (a transport failure has none).
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The JSON-RPC error's `data`, if the server answered with an error carrying some.
    pub fn data(&self) -> Option<&Value> {
        match cause_ref::<McpError>(self.source.as_ref())? {
            McpError::Upstream(e) => e.data.as_ref(),
            _ => None,
        }
    }

    /// The JSON-RPC error code the server answered with, if it answered with one.
    pub fn code(&self) -> Option<i64> {
        match cause_ref::<McpError>(self.source.as_ref())? {
            McpError::Upstream(e) => Some(e.code),
            _ => None,
        }
    }

    /// The JSON-RPC error message, if the server answered with one.
    pub fn message(&self) -> Option<String> {
        match cause_ref::<McpError>(self.source.as_ref())? {
            McpError::Upstream(e) => Some(e.message.to_string()),
            _ => None,
        }
    }
}

impl<C> McpClient<C>
where
    C: HttpTransport,
{
    /// A client speaking `era` to `service` at `http://mcp.test/mcp`.
    pub fn new(service: C, era: Era) -> Self {
        let uri = http::Uri::from_static("http://mcp.test/mcp");
        McpClient {
            upstream: HttpUpstream::new(Noting(service.clone()), uri).with_era(era),
            service,
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
        let call = self
            .upstream
            .clone()
            .oneshot(UpstreamRequest::new(method, params));
        LAST_STATUS
            .scope(Cell::new(None), async move {
                let out = call.await;
                let status = LAST_STATUS.with(Cell::get);
                out.map_err(|e| ClientError::new(e, status))
            })
            .await
    }

    /// Sends `req` as it is (no era headers, no session): the raw answer, body read whole.
    /// For what the typed calls cannot say: a malformed body, a forged header, a bare status.
    pub async fn raw(&self, req: Request<Full<Bytes>>) -> Result<RawResponse, ClientError> {
        let res = self
            .service
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| ClientError::new(e.into(), None))?;
        let (parts, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| ClientError::new(e.into(), Some(parts.status)))?
            .to_bytes();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Opens a listen for what `filter` asks: `subscriptions/listen` for a modern client; for
    /// a legacy one, the session's GET stream and `resources/subscribe` for each URI. Runs on
    /// a spawned task until the [`Listening`] is dropped.
    pub fn listen(&self, filter: ListenFilter) -> Listening {
        let (notifier, notes) = Notifier::listen(filter.clone());
        let req = UpstreamRequest::new(LISTEN, filter.to_params()).with_notifier(Some(notifier));
        let call = self.upstream.clone().oneshot(req);
        let task = tokio::spawn(async move { call.await.map_err(|e| ClientError::new(e, None)) });
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use agent_gateway_core::Denied;
    use serde_json::json;

    use super::*;
    use crate::{McpFront, McpFrontConfig, McpRequest, McpResponse};

    #[tokio::test]
    async fn a_refusal_carries_its_status_and_data_and_raw_requests_see_the_wire() {
        let inner = tower::service_fn(|req: McpRequest| async move {
            if req.method() == "tools/call" {
                return Err(BoxError::from(Denied::quota_exceeded(Duration::from_secs(
                    2,
                ))));
            }
            Ok(McpResponse::for_method(req.method(), json!({"tools": []})))
        });
        let front = McpFront::new(inner, McpFrontConfig::new("gw", "1").unwrap());
        for client in [
            McpClient::modern(front.clone()),
            McpClient::legacy(front.clone()),
        ] {
            assert!(client.list_tools().await.unwrap().is_empty());
            let err = client.call_tool("t", json!({})).await.unwrap_err();
            assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
            assert_eq!(err.data(), Some(&json!({"retryAfterMs": 2000})));
        }
        let client = McpClient::modern(front);
        let put = Request::put("/mcp").body(Full::new(Bytes::new())).unwrap();
        let raw = client.raw(put).await.unwrap();
        assert_eq!(raw.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(raw.json()["error"]["code"], -32600);
    }
}
