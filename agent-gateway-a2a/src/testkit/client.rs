//! An in-process A2A client over any HTTP service (a front, or an agent's connector).

use std::fmt;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::sse::Decoder;
use agent_gateway_core::transport::HttpTransport;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::version::{VERSION_HEADER, Version};

/// A JSON-RPC A2A client, speaking one version, calling `{base}/{agent}` on a service.
#[derive(Clone)]
pub struct A2aClient<S> {
    service: S,
    version: Version,
    base: String,
}

impl<S> fmt::Debug for A2aClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("A2aClient")
            .field("version", &self.version)
            .field("base", &self.base)
            .finish()
    }
}

impl<S: HttpTransport> A2aClient<S> {
    /// A 1.0 client of `service`, with paths relative to its root.
    pub fn new(service: S) -> Self {
        A2aClient {
            service,
            version: Version::V1_0,
            base: "http://gateway.test".into(),
        }
    }

    /// Speaks `version` (0.3 sends no `A2A-Version` header).
    pub fn with_version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    async fn post(
        &self,
        agent: &str,
        method: &str,
        params: Value,
    ) -> Result<(http::response::Parts, Bytes), BoxError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/{agent}", self.base))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        if self.version == Version::V1_0 {
            req.headers_mut()
                .insert(VERSION_HEADER, http::HeaderValue::from_static("1.0"));
        }
        let res = self
            .service
            .clone()
            .oneshot(req)
            .await
            .map_err(Into::into)?;
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
        Ok((parts, bytes))
    }

    /// Calls `method` on `agent` and returns its result or its error object.
    pub async fn call(
        &self,
        agent: &str,
        method: &str,
        params: Value,
    ) -> Result<Value, ErrorObject> {
        let (_, bytes) = self
            .post(agent, method, params)
            .await
            .map_err(|e| ErrorObject::new(-32603, e.to_string()))?;
        let mut msg: Value =
            serde_json::from_slice(&bytes).map_err(|_| ErrorObject::parse_error())?;
        if let Some(err) = msg.get_mut("error").map(Value::take) {
            return Err(
                serde_json::from_value(err).unwrap_or_else(|_| ErrorObject::internal_error())
            );
        }
        msg.get_mut("result")
            .map(Value::take)
            .ok_or_else(ErrorObject::internal_error)
    }

    /// Sends a user text message (a fresh message id) and returns the result.
    pub async fn send_text(&self, agent: &str, text: &str) -> Result<Value, ErrorObject> {
        let (method, message) = match self.version {
            Version::V1_0 => (
                "SendMessage",
                json!({"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": text}]}),
            ),
            _ => (
                "message/send",
                json!({"kind": "message", "messageId": "m-1", "role": "user", "parts": [{"kind": "text", "text": text}]}),
            ),
        };
        self.call(agent, method, json!({"message": message})).await
    }

    /// Calls a streaming `method` and returns every event's JSON-RPC message, in order.
    pub async fn stream(
        &self,
        agent: &str,
        method: &str,
        params: Value,
    ) -> Result<Vec<Value>, BoxError> {
        let (_, bytes) = self.post(agent, method, params).await?;
        let mut events = Vec::new();
        Decoder::new().feed(&bytes, &mut events)?;
        events
            .iter()
            .map(|e| serde_json::from_str(&e.data).map_err(BoxError::from))
            .collect()
    }
}
