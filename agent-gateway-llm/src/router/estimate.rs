//! What a model call may cost at most, before it runs: what a spend budget reserves when it
//! admits the call (finding 13).

use std::collections::BTreeMap;
use std::sync::Arc;

use agent_gateway_core::{Action, AgentRequest, Cost, Usage};
use serde_json::Value;

use crate::Price;

/// The output a call is assumed to produce when it does not say (no `max_tokens`,
/// `max_completion_tokens` or `max_output_tokens`): 4096 tokens, the common default cap of the
/// providers' chat models. A call without a cap can produce more; the settlement then charges
/// the difference, which is the overspend the budget docs state.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 4096;

/// Prices a model call before it runs: its input estimate plus its output cap, at the dearest
/// deployment of its alias. Made by [`LlmRouter::cost_estimator`](super::LlmRouter::cost_estimator).
///
/// ```
/// use agent_gateway_core::{AgentRequest, Cost};
/// use agent_gateway_llm::router::{Deployment, LlmRouter};
/// use agent_gateway_llm::provider::OpenAiProvider;
/// use agent_gateway_llm::testkit::FakeProvider;
/// use agent_gateway_llm::{Api, LlmRequest, Price};
/// use serde_json::json;
///
/// let router = LlmRouter::builder()
///     .provider("p", OpenAiProvider::new(FakeProvider::new(), "http://p/v1").unwrap())
///     .alias("fast", Deployment::new("p", "m").with_price(Price::per_million(1.0, 2.0)))
///     .build()
///     .unwrap();
/// let estimator = router.cost_estimator();
/// let req = LlmRequest::decode(Api::ChatCompletions,
///     json!({"model": "fast", "messages": [], "max_tokens": 100})).unwrap();
/// let input = req.estimated_input_tokens().unwrap();
/// assert_eq!(estimator.estimate(&req), Some(Cost::from_nano_usd(input * 1_000 + 100 * 2_000)));
/// // An unknown alias is not priced: the router refuses it anyway.
/// let other = LlmRequest::decode(Api::ChatCompletions, json!({"model": "x", "messages": []})).unwrap();
/// assert_eq!(estimator.estimate(&other), None);
/// ```
#[derive(Debug, Clone)]
pub struct CostEstimator {
    prices: Arc<BTreeMap<String, Price>>,
    default_output_tokens: u64,
}

impl CostEstimator {
    pub(super) fn new(prices: BTreeMap<String, Price>) -> Self {
        CostEstimator {
            prices: Arc::new(prices),
            default_output_tokens: DEFAULT_OUTPUT_TOKENS,
        }
    }

    /// An estimator from `(alias, price)` pairs, without a router (a configuration read before
    /// the router is built): an alias named twice is priced at the dearer of its prices.
    pub fn from_prices(prices: impl IntoIterator<Item = (String, Price)>) -> Self {
        let mut map: BTreeMap<String, Price> = BTreeMap::new();
        for (alias, price) in prices {
            let entry = map.entry(alias).or_insert(Price::FREE);
            *entry = entry.max(price);
        }
        CostEstimator::new(map)
    }

    /// Assumes `tokens` of output for a call that sets no cap; [`DEFAULT_OUTPUT_TOKENS`] unless
    /// set.
    pub fn with_default_output_tokens(mut self, tokens: u64) -> Self {
        self.default_output_tokens = tokens;
        self
    }

    /// The most a model call `req` may cost, if its alias is known: its input estimate and
    /// its output cap (or the default), at the dearest prices among the alias's deployments.
    pub fn estimate(&self, req: &dyn AgentRequest) -> Option<Cost> {
        if req.action() != Action::ModelCall {
            return None;
        }
        let price = self.prices.get(req.target()?)?;
        let input = req.estimated_input_tokens().unwrap_or(0);
        let output = req
            .arguments()
            .and_then(output_cap)
            .unwrap_or(self.default_output_tokens);
        Some(price.cost(&Usage::tokens(input, output)))
    }
}

/// The output cap a request body sets, in any of the three APIs.
fn output_cap(body: &Value) -> Option<u64> {
    ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .into_iter()
        .find_map(|field| body.get(field).and_then(Value::as_u64))
}
