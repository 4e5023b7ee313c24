//! Model routing: an alias maps to an ordered chain of deployments (provider, upstream model
//! and price), with fallback on 429, 5xx and connection errors, `Retry-After` honoured, and a
//! circuit breaker per deployment.
//!
//! ```
//! use agent_gateway_core::response::AgentResponse;
//! use agent_gateway_llm::provider::OpenAiProvider;
//! use agent_gateway_llm::router::{Deployment, Router};
//! use agent_gateway_llm::testkit::{FakeProvider, Script};
//! use agent_gateway_llm::{Api, LlmRequest, Price};
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let primary = FakeProvider::new().push(Script::error(500, "boom"));
//! let backup = FakeProvider::new().push(Script::text("from backup").with_usage(5, 2));
//! let router = Router::builder()
//!     .provider("a", OpenAiProvider::new(primary.clone(), "http://a.test/v1").unwrap())
//!     .provider("b", OpenAiProvider::new(backup.clone(), "http://b.test/v1").unwrap())
//!     .alias("fast", Deployment::new("a", "model-a"))
//!     .alias("fast", Deployment::new("b", "model-b").with_price(Price::per_million(1.0, 1.0)))
//!     .build()
//!     .unwrap();
//!
//! // Allowed: A fails with 500, B serves.
//! let chat = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
//! let req = LlmRequest::decode(Api::ChatCompletions, chat("fast")).unwrap();
//! let res = router.clone().oneshot(req).await.unwrap();
//! assert_eq!(res.output().unwrap()["choices"][0]["message"]["content"], "from backup");
//! assert_eq!((primary.calls(), backup.calls()), (1, 1));
//!
//! // Refused: no such alias, and no provider is called.
//! let req = LlmRequest::decode(Api::ChatCompletions, chat("slow")).unwrap();
//! assert!(router.oneshot(req).await.is_err());
//! assert_eq!((primary.calls(), backup.calls()), (1, 1));
//! # });
//! ```

mod builder;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::StatusCode;
use tower::{Service, ServiceExt};

use agent_gateway_core::upstream::breaker::Breaker;
use agent_gateway_core::upstream::error::find;
use agent_gateway_core::{BoxError, SharedClock};

use crate::error::{UnknownModel, UpstreamStatus, UpstreamUnavailable};
use crate::provider::{BoxProvider, ProviderRequest};
use crate::{Api, LlmRequest, LlmResponse, Price};

pub use builder::{RouterBuilder, RouterError};

/// One deployment of a model alias: which provider, which upstream model, at what price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    provider: String,
    model: String,
    price: Price,
}

impl Deployment {
    /// `model` on the provider registered as `provider`, free until priced.
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Deployment {
            provider: provider.into(),
            model: model.into(),
            price: Price::FREE,
        }
    }

    /// Sets the price.
    pub fn with_price(mut self, price: Price) -> Self {
        self.price = price;
        self
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The upstream model name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The price.
    pub fn price(&self) -> Price {
        self.price
    }
}

/// The router: a `Service<LlmRequest>` that lists the aliases and sends each model call to
/// the first available deployment of its alias.
///
/// A deployment is skipped while its breaker is open or while a `Retry-After` it sent has not
/// passed (on the router's clock). A call falls back to the next deployment when the provider
/// answers 408, 429 or 5xx, or cannot be reached. Other errors (a 400) go straight back: the
/// next deployment would refuse the same request. Once a provider has answered with success,
/// there is no fallback: a stream whose bytes reached the client is never replayed.
#[derive(Debug, Clone)]
pub struct Router {
    table: Arc<Table>,
}

#[derive(Debug)]
struct Table {
    aliases: BTreeMap<String, Vec<Route>>,
    owned_by: String,
    clock: SharedClock,
}

#[derive(Debug)]
struct Route {
    deployment: Deployment,
    provider: BoxProvider,
    health: Arc<Health>,
}

/// Shared by every alias that names the same provider and model.
#[derive(Debug)]
struct Health {
    breaker: Breaker,
    cool_until: Mutex<Option<Instant>>,
}

impl Router {
    /// Starts a router.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::new()
    }

    /// The configured aliases, in order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.table.aliases.keys().map(String::as_str)
    }
}

impl Service<LlmRequest> for Router {
    type Response = LlmResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<LlmResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: LlmRequest) -> Self::Future {
        let table = self.table.clone();
        Box::pin(async move {
            if req.api() == Api::ListModels {
                return Ok(LlmResponse::models(
                    table.aliases.keys().cloned(),
                    &table.owned_by,
                ));
            }
            let alias = req.model().unwrap_or_default();
            let Some(routes) = table.aliases.get(alias) else {
                return Err(UnknownModel::new(alias).into());
            };
            table.route(routes, req).await
        })
    }
}

impl Table {
    async fn route(&self, routes: &[Route], req: LlmRequest) -> Result<LlmResponse, BoxError> {
        let mut last: Option<BoxError> = None;
        let mut soonest: Option<Duration> = None;
        for route in routes {
            let now = self.clock.now();
            if let Some(wait) = route.health.cooling(now) {
                soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                continue;
            }
            let permit = match route.health.breaker.try_acquire() {
                Ok(permit) => permit,
                Err(open) => {
                    last = Some(open.into());
                    continue;
                }
            };
            let call = ProviderRequest::new(req.clone(), route.deployment.model.clone())
                .with_price(route.deployment.price);
            match route.provider.clone().oneshot(call).await {
                Ok(res) => {
                    permit.succeeded();
                    return Ok(res);
                }
                Err(e) if is_failover(e.as_ref()) => {
                    permit.failed();
                    if let Some(after) =
                        find::<UpstreamStatus>(e.as_ref()).and_then(UpstreamStatus::retry_after)
                    {
                        route.health.cool_for(self.clock.now(), after);
                    }
                    tracing::debug!(deployment = %route.deployment.provider, error = %e, "llm router: falling back");
                    last = Some(e);
                }
                Err(e) => {
                    // The request's own fault, not the deployment's.
                    permit.succeeded();
                    return Err(e);
                }
            }
        }
        match (last, soonest) {
            (Some(e), _) => Err(e),
            (None, Some(wait)) => Err(UpstreamStatus::new(
                StatusCode::TOO_MANY_REQUESTS,
                "every deployment of this model is rate limited",
            )
            .with_retry_after(Some(wait))
            .into()),
            (None, None) => Err(UpstreamUnavailable::new("no deployment").into()),
        }
    }
}

impl Health {
    /// How long this deployment still rests after a `Retry-After`, if it does.
    fn cooling(&self, now: Instant) -> Option<Duration> {
        let until = *self.cool_until.lock().unwrap_or_else(|e| e.into_inner());
        until
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    fn cool_for(&self, now: Instant, after: Duration) {
        *self.cool_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(now + after);
    }
}

/// Errors another deployment may not repeat: 408, 429, 5xx, unreachable, timed out.
fn is_failover(e: &(dyn std::error::Error + 'static)) -> bool {
    find::<UpstreamStatus>(e).is_some_and(UpstreamStatus::is_retryable)
        || find::<UpstreamUnavailable>(e).is_some()
        || find::<tower::timeout::error::Elapsed>(e).is_some()
}

#[cfg(test)]
mod tests;
