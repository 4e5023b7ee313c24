//! What every provider shares: the transport, the base URL, the credential and the answer
//! limit, with their builder methods, once; the upstream's own API and settings are `U`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

#[cfg(feature = "client")]
use bytes::Bytes;
#[cfg(feature = "client")]
use http_body_util::Full;

use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, Secret};
use tower::Service;

use super::{Common, InvalidBaseUrl, ProviderRequest};
use crate::error::UnsupportedApi;
use crate::{Api, LlmRequest, LlmResponse};

/// A provider: a transport, and the settings of an upstream speaking `U`'s API.
///
/// Its two kinds are [`OpenAiProvider`](super::OpenAiProvider) (`U` =
/// [`OpenAiUpstream`](super::OpenAiUpstream)) and
/// [`AnthropicProvider`](super::AnthropicProvider) (`U` =
/// [`AnthropicUpstream`](super::AnthropicUpstream)); each implements
/// `Service<ProviderRequest>` over any [`HttpTransport`](agent_gateway_core::transport::HttpTransport).
/// Cheap to clone: the settings are shared.
#[derive(Debug, Clone)]
pub struct Provider<T, U> {
    transport: T,
    config: Arc<Config<U>>,
}

/// The settings of a provider.
#[derive(Debug, Clone)]
pub(super) struct Config<U> {
    pub(super) common: Common,
    pub(super) upstream: U,
}

impl<T, U: Default + Clone> Provider<T, U> {
    /// A provider calling `base_url` through `transport`: OpenAI's including `/v1`
    /// (`https://api.openai.com/v1`), Anthropic's without (`https://api.anthropic.com`), as
    /// their SDKs take them.
    pub fn new(transport: T, base_url: &str) -> Result<Self, InvalidBaseUrl> {
        Ok(Provider {
            transport,
            config: Arc::new(Config {
                common: Common::new(base_url)?,
                upstream: U::default(),
            }),
        })
    }

    pub(super) fn edit(mut self, f: impl FnOnce(&mut Config<U>)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Sets the provider's API key.
    pub fn with_api_key(self, key: Secret<String>) -> Self {
        self.edit(|c| c.common.set_credential(key))
    }

    /// Sets the limit on a whole upstream answer, in bytes.
    pub fn with_max_response_bytes(self, limit: usize) -> Self {
        self.edit(|c| c.common.max_response_bytes = limit)
    }
}

impl<T, U> Provider<T, U> {
    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.transport
    }

    /// What a call needs: a clone of the transport, and the shared settings.
    pub(super) fn for_call(&self) -> (T, Arc<Config<U>>)
    where
        T: Clone,
    {
        (self.transport.clone(), self.config.clone())
    }
}

#[cfg(feature = "client")]
impl<U: Default + Clone> Provider<agent_gateway_core::client::HttpClient<Full<Bytes>>, U> {
    /// A provider over core's HTTP client (hyper-util, rustls), connecting within
    /// [`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT).
    pub fn http(base_url: &str) -> Result<Self, InvalidBaseUrl> {
        Self::http_with_connect_timeout(base_url, super::DEFAULT_CONNECT_TIMEOUT)
    }

    /// A provider over core's HTTP client that gives up connecting after `connect_timeout`,
    /// so that an unreachable deployment fails over quickly.
    pub fn http_with_connect_timeout(
        base_url: &str,
        connect_timeout: std::time::Duration,
    ) -> Result<Self, InvalidBaseUrl> {
        let client = agent_gateway_core::client::http_client_with_connect_timeout(connect_timeout);
        Provider::new(client, base_url)
    }
}

/// What a kind of upstream ([`OpenAiUpstream`](super::OpenAiUpstream),
/// [`AnthropicUpstream`](super::AnthropicUpstream)) does with a call: the one part of a
/// [`Provider`]'s `Service` impl that differs.
pub(super) trait Upstream: Sized + Send + Sync + 'static {
    /// Sends the call's request through its transport, with the provider's settings.
    fn call<T: HttpTransport>(
        call: Call<T, Self>,
    ) -> impl Future<Output = Result<LlmResponse, BoxError>> + Send;
}

/// One call of a [`Provider`]: what an [`Upstream`] works with.
pub(super) struct Call<T, U> {
    pub(super) transport: T,
    pub(super) config: Arc<Config<U>>,
    pub(super) req: ProviderRequest,
}

impl<T: HttpTransport, U: Upstream> Service<ProviderRequest> for Provider<T, U> {
    type Response = LlmResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<LlmResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ProviderRequest) -> Self::Future {
        let (transport, config) = self.for_call();
        Box::pin(U::call(Call {
            transport,
            config,
            req,
        }))
    }
}

/// The error for a client whose API this upstream does not serve.
pub(super) fn unsupported(client: &LlmRequest, api: Api) -> BoxError {
    let alias = client.model().unwrap_or_default().to_owned();
    UnsupportedApi {
        alias,
        api: api.as_str(),
    }
    .into()
}
