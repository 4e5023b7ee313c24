//! The front: one `Service<http::Request<B>>` with `Error = Infallible` serving the OpenAI and
//! Anthropic endpoints, decoding once and rendering every error in the client's dialect.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_core::testkit::TestClient;
//! use agent_gateway_llm::{LlmFront, LlmRequest, LlmResponse};
//! use agent_gateway_llm::error::UnknownModel;
//! use serde_json::json;
//! use tower::service_fn;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // The inner service stands for the policy stack and the router.
//! let inner = service_fn(|req: LlmRequest| async move {
//!     match req.model() {
//!         Some("fast") => Ok(LlmResponse::models(["fast"], "gw")),
//!         other => Err(BoxError::from(UnknownModel::new(other.unwrap_or_default()))),
//!     }
//! });
//! let client = TestClient::new(LlmFront::new(inner));
//!
//! let ok = client.post("/v1/chat/completions")
//!     .json(&json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}))
//!     .send().await;
//! assert_eq!(ok.status(), 200);
//!
//! // Denied in the client's own dialect: Anthropic's error shape on /v1/messages.
//! let err = client.post("/v1/messages")
//!     .json(&json!({"model": "nope", "max_tokens": 5, "messages": []}))
//!     .send().await;
//! assert_eq!(err.status(), 404);
//! assert_eq!(err.json()["type"], "error");
//! assert_eq!(err.json()["error"]["type"], "not_found_error");
//! # });
//! ```

mod config;
mod decode;
pub mod future;
mod layer;
mod render;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use tower::{Service, ServiceExt};

use agent_gateway_core::BoxError;
use agent_gateway_core::response::PolicyHeaders;

use crate::error::UnknownEndpoint;
use crate::request::normalize_credential;
use crate::{Api, Dialect, LlmBody, LlmRequest, LlmResponse};

pub use config::{DEFAULT_MAX_BODY, LlmFrontConfig};
pub use future::ResponseFuture;
pub use layer::LlmFrontLayer;
pub use render::error_response;

/// The default request body limit, by its former name.
#[deprecated(note = "renamed `DEFAULT_MAX_BODY`, as in the MCP front")]
pub const DEFAULT_MAX_BODY_BYTES: usize = DEFAULT_MAX_BODY;

/// The LLM front. It serves, by the last segments of the path (so any mount prefix works):
///
/// - `POST …/chat/completions`, `POST …/responses` (OpenAI dialect);
/// - `POST …/messages` (Anthropic dialect; `x-api-key` is also made visible as
///   `Authorization: Bearer`, so one auth layer reads both client styles);
/// - `GET …/models` (OpenAI list, or Anthropic's when the client sends `anthropic-version`).
///
/// Each request is decoded once into an [`LlmRequest`] and handed to `inner`, the policy stack
/// then the router. Errors from decoding and from `inner` become wire errors in one place,
/// [`error_response`].
///
/// Request bodies must be `Content-Type: application/json` (or `…+json`); anything else is
/// refused with 415, before the body is read. Bodies over the limit get 413.
///
/// `poll_ready` is always ready: axum ignores readiness, and an `Infallible` service cannot
/// report the inner one's errors there. Each call drives a clone of `inner` to readiness.
#[derive(Debug, Clone)]
pub struct LlmFront<S> {
    inner: S,
    config: Arc<LlmFrontConfig>,
}

impl<S> LlmFront<S> {
    /// A front calling `inner`, with the default [`LlmFrontConfig`].
    pub fn new(inner: S) -> Self {
        LlmFront {
            inner,
            config: Arc::default(),
        }
    }

    /// Replaces the settings with `config`.
    pub fn with_config(mut self, config: LlmFrontConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Sets the request body limit, in bytes; short for a [`LlmFrontConfig::with_max_body`].
    #[doc(alias = "with_max_body_bytes")]
    pub fn with_max_body(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.config).max_body = limit;
        self
    }

    /// The settings.
    pub fn config(&self) -> &LlmFrontConfig {
        &self.config
    }

    /// Sets the request body limit, in bytes.
    #[deprecated(note = "renamed `with_max_body`, as in the other fronts")]
    pub fn with_max_body_bytes(self, limit: usize) -> Self {
        self.with_max_body(limit)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for LlmFront<S>
where
    S: Service<LlmRequest, Response = LlmResponse> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<LlmBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        let limit = self.config.max_body();
        // What the policy layers add goes on the answer, streamed or not, or on its error.
        let added = PolicyHeaders::attach(req.extensions_mut());
        ResponseFuture::new(async move {
            let anthropic_client = req.headers().contains_key("anthropic-version");
            let api = Api::from_path(req.uri().path());
            let dialect = match api {
                Some(Api::ListModels) | None if anthropic_client => Dialect::Anthropic,
                Some(api) => api.dialect(),
                None => Dialect::OpenAi,
            };
            let res = match decode(req, api, dialect, limit).await {
                Ok(llm) => inner.oneshot(llm).await.map_err(Into::into),
                Err(e) => Err(e),
            };
            let mut res = match res {
                Ok(res) => res.into_http(dialect),
                Err(e) => error_response(e.as_ref(), dialect),
            };
            added.copy_to(res.headers_mut());
            Ok(res)
        })
    }
}

async fn decode<B>(
    req: Request<B>,
    api: Option<Api>,
    dialect: Dialect,
    limit: usize,
) -> Result<LlmRequest, BoxError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let Some(api) = api else {
        return Err(UnknownEndpoint {
            method_not_allowed: false,
        }
        .into());
    };
    let expected = if api == Api::ListModels {
        Method::GET
    } else {
        Method::POST
    };
    if req.method() != expected {
        return Err(UnknownEndpoint {
            method_not_allowed: true,
        }
        .into());
    }
    let (mut parts, body) = req.into_parts();
    normalize_credential(&mut parts.headers);
    let llm = if api == Api::ListModels {
        LlmRequest::list_models(dialect)
    } else {
        let bytes = decode::json_body(&parts.headers, body, limit).await?;
        LlmRequest::from_slice(api, &bytes)?
    };
    Ok(llm
        .with_headers(parts.headers)
        .with_extensions(parts.extensions))
}

#[cfg(test)]
mod tests;
