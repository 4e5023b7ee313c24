//! Model routing: an alias maps to a chain of tiers of deployments (provider, upstream model,
//! price and weight), balanced within a tier by weight and latency, with fallback on 429, 5xx
//! and connection errors bounded by a retry budget, `Retry-After` honoured, and a circuit
//! breaker per deployment.
//!
//! ```
//! use agent_gateway_core::response::AgentResponse;
//! use agent_gateway_llm::provider::OpenAiProvider;
//! use agent_gateway_llm::router::{Deployment, LlmRouter};
//! use agent_gateway_llm::testkit::{FakeProvider, Script};
//! use agent_gateway_llm::{Api, LlmRequest, Price};
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let primary = FakeProvider::new().push(Script::error(500, "boom"));
//! let backup = FakeProvider::new().push(Script::text("from backup").with_usage(5, 2));
//! let router = LlmRouter::builder()
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
mod deployment;
mod estimate;
mod rest;
mod route;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;
use tower::retry::budget::TpsBudget;

use agent_gateway_core::upstream::LoadEstimate;
use agent_gateway_core::upstream::balance::Balanced;
use agent_gateway_core::upstream::breaker::Breaker;
use agent_gateway_core::{BoxError, SharedClock};

use crate::error::UnknownModel;
use crate::provider::BoxProvider;
use crate::{Api, LlmRequest, LlmResponse, Price};

pub use builder::{LlmRouterBuilder, RouterError};
pub use deployment::Deployment;
pub use estimate::{CostEstimator, DEFAULT_OUTPUT_TOKENS};

use rest::Rest;

/// The router, by its former name.
#[deprecated(note = "renamed `LlmRouter`, so as not to clash with axum's `Router`")]
pub type Router = LlmRouter;

/// The router's builder, by its former name.
#[deprecated(note = "renamed `LlmRouterBuilder`")]
pub type RouterBuilder = LlmRouterBuilder;

/// The router: a `Service<LlmRequest>` that lists the aliases and sends each model call to a
/// deployment of its alias.
///
/// An alias is a chain of tiers, each one deployment or more ([`LlmRouterBuilder::alias`],
/// [`LlmRouterBuilder::tier`]). A call goes to the first tier; within a tier, deployments are
/// balanced by weight and latency (power of two choices, see [`Deployment::with_weight`]);
/// when the chosen deployment fails, the others of the tier are tried, then the next tier.
/// Latency is the time a provider takes to answer (to its headers, for a stream), on the
/// router's clock, kept as core's Peak-EWMA [`LoadEstimate`].
///
/// The plumbing is core's [`upstream`](agent_gateway_core::upstream): each alias is an
/// upstream whose instances are its deployments (with their weights and tiers), picked by
/// [`Balanced`], each deployment with its circuit breaker, and fallbacks paid from a retry
/// budget. A deployment named by several aliases shares its breaker, estimate and rest.
///
/// - A deployment is skipped while its breaker is open or while a `Retry-After` it sent has
///   not passed (on the router's clock).
/// - A call falls back when the provider answers 408, 429 or 5xx, or cannot be reached.
///   Other errors (a 400) go straight back: the next deployment would refuse the same request.
/// - Fallbacks are retries, and a retry budget bounds them ([`LlmRouterBuilder::with_retry_budget`]):
///   when every deployment fails at once, the load that fallbacks add stays a share of the
///   traffic instead of multiplying it.
/// - Once a provider has answered with success there is no fallback: a stream whose bytes
///   reached the client is never replayed elsewhere.
/// - Dropping the call's future (the client went away) drops the provider's call and with it
///   the upstream request.
#[derive(Debug, Clone)]
#[doc(alias = "Router")]
pub struct LlmRouter {
    table: Arc<Table>,
}

#[derive(Debug)]
struct Table {
    aliases: BTreeMap<String, Alias>,
    /// Each deployment once (by provider and model), with its breaker and load estimate.
    deployments: Vec<DeploymentHealth>,
    owned_by: String,
    clock: SharedClock,
    budget: Arc<TpsBudget>,
}

/// A deployment's shared state, as the health metrics read it.
#[derive(Debug)]
struct DeploymentHealth {
    provider: String,
    model: String,
    breaker: Breaker,
    load: LoadEstimate,
}

/// What counts as a deployment's failure, for its breaker.
type Classifier = fn(&Result<LlmResponse, BoxError>) -> bool;

/// An alias: core's balancer over its deployments, and what the router knows of each, by
/// instance index.
#[derive(Debug)]
struct Alias {
    balanced: Balanced<BoxProvider, Classifier>,
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    deployment: Deployment,
    /// The deployment's upstream model name, shared with each call made to it.
    model: Arc<str>,
    rest: Arc<Rest>,
}

impl LlmRouter {
    /// Starts a router.
    pub fn builder() -> LlmRouterBuilder {
        LlmRouterBuilder::new()
    }

    /// The configured aliases, in order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.table.aliases.keys().map(String::as_str)
    }

    /// Every deployment once, in provider then model order, with its circuit breaker and
    /// load estimate (calls in flight), shared by every alias naming it: `(provider, model,
    /// breaker, load)`, for health metrics. Clones of the breaker and estimate read the live
    /// state.
    ///
    /// ```
    /// use agent_gateway_llm::provider::OpenAiProvider;
    /// use agent_gateway_llm::router::{Deployment, LlmRouter};
    /// use agent_gateway_llm::testkit::FakeProvider;
    /// use agent_gateway_core::upstream::breaker::BreakerState;
    ///
    /// let router = LlmRouter::builder()
    ///     .provider("a", OpenAiProvider::new(FakeProvider::new(), "http://a.test/v1").unwrap())
    ///     .alias("fast", Deployment::new("a", "m1"))
    ///     .alias("smart", Deployment::new("a", "m1"))
    ///     .alias("smart", Deployment::new("a", "m2"))
    ///     .build()
    ///     .unwrap();
    /// let deployments: Vec<_> = router.deployments().map(|(p, m, b, l)| (p, m, b.state(), l.in_flight())).collect();
    /// assert_eq!(deployments, [("a", "m1", BreakerState::Closed, 0), ("a", "m2", BreakerState::Closed, 0)]);
    /// ```
    pub fn deployments(&self) -> impl Iterator<Item = (&str, &str, &Breaker, &LoadEstimate)> + '_ {
        self.table
            .deployments
            .iter()
            .map(|d| (d.provider.as_str(), d.model.as_str(), &d.breaker, &d.load))
    }

    /// What a model call may cost at most, priced at the dearest deployment of its alias: the
    /// estimate a spend budget reserves at admission (the policy crate's
    /// `BudgetLayer::with_estimate(move |req| estimator.estimate(req))`).
    pub fn cost_estimator(&self) -> CostEstimator {
        let prices = self.table.aliases.iter().map(|(name, alias)| {
            let price = alias
                .routes
                .iter()
                .map(|r| r.deployment.price)
                .fold(Price::FREE, Price::max);
            (name.clone(), price)
        });
        CostEstimator::new(prices.collect())
    }
}

impl Service<LlmRequest> for LlmRouter {
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
            let Some(alias) = table.aliases.get(alias) else {
                return Err(UnknownModel::new(alias).into());
            };
            table.route(alias, req).await
        })
    }
}

#[cfg(test)]
mod balance_tests;
#[cfg(test)]
mod tests;
