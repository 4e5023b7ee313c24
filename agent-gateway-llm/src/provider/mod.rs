//! Providers: tower services that call an upstream LLM API with their own credential, and
//! relay its answer with the usage metered.
//!
//! - [`OpenAiProvider`]: any OpenAI-compatible base URL (OpenAI, vLLM, Ollama, Groq, …),
//!   serving Chat Completions and Responses.
//! - [`AnthropicProvider`]: Anthropic Messages.
//!
//! Both are one [`Provider`] (the transport, base URL, credential and limits, and their
//! builder methods) of a different kind ([`OpenAiUpstream`], [`AnthropicUpstream`]), each
//! with its own `Service` impl. Each is generic over its HTTP transport (core's
//! [`HttpTransport`](agent_gateway_core::transport::HttpTransport)): core's `http_client()`
//! in production (feature `client`), or any `Service<http::Request<Full<Bytes>>>`, such as
//! the test kit's fake provider.
//!
//! ```
//! use agent_gateway_core::{AgentRequest, Secret};
//! use agent_gateway_core::response::AgentResponse;
//! use agent_gateway_llm::provider::{OpenAiProvider, ProviderRequest};
//! use agent_gateway_llm::testkit::{FakeProvider, Script};
//! use agent_gateway_llm::{Api, LlmRequest, Price};
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let fake = FakeProvider::new().push(Script::text("hello").with_usage(12, 3));
//! let provider = OpenAiProvider::new(fake.clone(), "https://api.example.com/v1").unwrap()
//!     .with_api_key(Secret::new("sk-provider".to_owned()));
//! let chat = json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]});
//! let req = LlmRequest::decode(Api::ChatCompletions, chat.clone()).unwrap();
//! let res = provider.clone()
//!     .oneshot(ProviderRequest::new(req, "gpt-4o-mini").with_price(Price::per_million(1.0, 1.0)))
//!     .await.unwrap();
//! let (usage, _) = res.usage_report().unwrap().usage().unwrap();
//! assert_eq!((usage.input_tokens, usage.output_tokens), (12, 3));
//! let seen = fake.requests();
//! assert_eq!(seen[0].body["model"], "gpt-4o-mini"); // the alias became the upstream model
//! assert_eq!(seen[0].headers["authorization"], "Bearer sk-provider");
//!
//! // An upstream error comes back typed, for the front to render.
//! let fake = FakeProvider::new().push(Script::error(503, "down"));
//! let provider = OpenAiProvider::new(fake, "https://api.example.com/v1").unwrap();
//! let req = LlmRequest::decode(Api::ChatCompletions, chat).unwrap();
//! assert!(provider.oneshot(ProviderRequest::new(req, "gpt-4o-mini")).await.is_err());
//! # });
//! ```

mod anthropic;
mod generic;
mod openai;
mod patch;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::BoxError;
use http::{HeaderValue, Uri};
use tower::util::BoxCloneSyncService;

use crate::{LlmRequest, LlmResponse, Price};

pub use anthropic::{AnthropicProvider, AnthropicUpstream, DEFAULT_ANTHROPIC_VERSION};
pub use generic::Provider;
pub use openai::{OpenAiProvider, OpenAiUpstream};
pub use relay::InvalidBaseUrl;

/// A provider behind a type-erased, cloneable service, as the router holds them.
pub type BoxProvider = BoxCloneSyncService<ProviderRequest, LlmResponse, BoxError>;

/// The default limit on a whole (non-streamed) upstream answer: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// How long a provider over core's HTTP client ([`Provider::http`]) waits for a TCP
/// connection: 10 seconds, far above any healthy connect, short enough to fail over from an
/// unreachable deployment before a client gives up.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a deployment may take to answer; see [`Timeouts::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    response: Duration,
    stream_idle: Duration,
}

impl Timeouts {
    /// The default wait for the response headers: 10 minutes, as the OpenAI and Anthropic
    /// SDKs wait. A non-streamed answer's headers come only once the whole answer is
    /// generated, which for a long answer from a reasoning model takes minutes.
    pub const DEFAULT_RESPONSE: Duration = Duration::from_secs(600);
    /// The default longest silence inside a stream (or a body): 5 minutes, room for a
    /// reasoning model that thinks before its first token without holding a dead connection
    /// for longer.
    pub const DEFAULT_STREAM_IDLE: Duration = Duration::from_secs(300);

    /// Waits at most `response` for the response headers, and at most `stream_idle` between
    /// two chunks of the body. A provider that stays silent longer fails with
    /// [`UpstreamTimeout`](crate::error::UpstreamTimeout): a 504 in the client's dialect (the
    /// router falls back first), or, mid-stream, the dialect's error event.
    pub fn new(response: Duration, stream_idle: Duration) -> Self {
        Timeouts {
            response,
            stream_idle,
        }
    }

    /// The wait for the response headers.
    pub fn response(&self) -> Duration {
        self.response
    }

    /// The longest silence inside a body.
    pub fn stream_idle(&self) -> Duration {
        self.stream_idle
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new(Self::DEFAULT_RESPONSE, Self::DEFAULT_STREAM_IDLE)
    }
}

/// A request routed to a deployment: the client's request, the upstream model name that
/// replaces the alias, the deployment's price and its timeouts.
///
/// The request and the model name are shared, not copied: the router hands each deployment it
/// tries the same request (headers and extensions included) and the name it was built with.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    request: Arc<LlmRequest>,
    upstream_model: Arc<str>,
    price: Price,
    timeouts: Timeouts,
}

impl ProviderRequest {
    /// `request`, to be served by `upstream_model`, free of charge until
    /// [`with_price`](ProviderRequest::with_price).
    pub fn new(request: LlmRequest, upstream_model: impl Into<String>) -> Self {
        Self::shared(Arc::new(request), Arc::from(upstream_model.into()))
    }

    /// `request` and `upstream_model`, shared with the caller (the router, which tries
    /// several deployments with one request).
    pub(crate) fn shared(request: Arc<LlmRequest>, upstream_model: Arc<str>) -> Self {
        ProviderRequest {
            request,
            upstream_model,
            price: Price::FREE,
            timeouts: Timeouts::default(),
        }
    }

    /// Sets the timeouts; [`Timeouts::default`] unless set.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sets the price.
    pub fn with_price(mut self, price: Price) -> Self {
        self.price = price;
        self
    }

    /// The client's request.
    pub fn request(&self) -> &LlmRequest {
        &self.request
    }

    /// The upstream model name.
    pub fn upstream_model(&self) -> &str {
        &self.upstream_model
    }

    /// The price.
    pub fn price(&self) -> Price {
        self.price
    }
}

/// What both providers are configured with. The upstream URLs and the credential's header
/// values are made once, here, not per request: a clone of a `Uri` or a `HeaderValue` shares
/// its bytes.
#[derive(Debug, Clone)]
struct Common {
    endpoints: relay::Endpoints,
    credential: Option<Credential>,
    max_response_bytes: usize,
}

/// The provider's own credential, and its header values as each provider kind sends it
/// (`None` for a key that is not a valid header value: the call fails, saying so).
#[derive(Debug, Clone)]
struct Credential {
    secret: agent_gateway_core::Secret<String>,
    /// `Bearer <key>` (OpenAI's `Authorization`), marked sensitive.
    bearer: Option<HeaderValue>,
    /// `<key>` (Anthropic's `x-api-key`), marked sensitive.
    key: Option<HeaderValue>,
}

impl Common {
    fn new(base_url: &str) -> Result<Self, InvalidBaseUrl> {
        Ok(Common {
            endpoints: relay::Endpoints::new(base_url)?,
            credential: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    fn set_credential(&mut self, secret: agent_gateway_core::Secret<String>) {
        let key = secret.expose();
        self.credential = Some(Credential {
            bearer: secret_header(&format!("Bearer {key}")).ok(),
            key: secret_header(key).ok(),
            secret,
        });
    }

    /// The `Authorization: Bearer` value to send: the provider's own credential. The
    /// client's is never sent: the auth layer consumes it, and a gateway that handed it on
    /// would let clients spend on the provider account of whoever configured forwarding.
    fn bearer(&self) -> Result<Option<HeaderValue>, BoxError> {
        let Some(c) = &self.credential else {
            return Ok(None);
        };
        match &c.bearer {
            Some(v) => Ok(Some(v.clone())),
            None => Ok(Some(secret_header(&format!(
                "Bearer {}",
                c.secret.expose()
            ))?)),
        }
    }

    /// The `x-api-key` value to send: the provider's own credential (see
    /// [`bearer`](Common::bearer)).
    fn api_key(&self) -> Result<Option<HeaderValue>, BoxError> {
        let Some(c) = &self.credential else {
            return Ok(None);
        };
        match &c.key {
            Some(v) => Ok(Some(v.clone())),
            None => Ok(Some(secret_header(c.secret.expose())?)),
        }
    }

    /// The URL of `path` under the base URL.
    fn uri(&self, path: relay::Path) -> &Uri {
        self.endpoints.get(path)
    }
}

/// A header value holding a credential, marked sensitive.
fn secret_header(value: &str) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    let mut v = HeaderValue::from_str(value)?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod responses_tests;
#[cfg(test)]
mod stream_error_tests;
#[cfg(test)]
mod tests;
