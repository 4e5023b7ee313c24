//! What a call may cost, known before it runs: the amount a budget reserves at admission.

use agent_gateway_core::{AgentRequest, Cost};

/// Estimates the most a request may cost, before it runs; see
/// [`BudgetLayer::with_estimate`](super::BudgetLayer::with_estimate).
///
/// Any `Fn(&dyn AgentRequest) -> Option<Cost>` is one. `None` (a request the estimator cannot
/// price) reserves nothing: such a call is admitted while the budget has anything left, as
/// without an estimator. The LLM crate's router provides one that prices a model call at its
/// alias's dearest deployment: the input estimate plus `max_tokens` (or a default) output.
pub trait Estimate: Send + Sync + 'static {
    /// The most `req` may cost, if it can be known.
    fn estimate(&self, req: &dyn AgentRequest) -> Option<Cost>;
}

impl<F> Estimate for F
where
    F: Fn(&dyn AgentRequest) -> Option<Cost> + Send + Sync + 'static,
{
    fn estimate(&self, req: &dyn AgentRequest) -> Option<Cost> {
        self(req)
    }
}
