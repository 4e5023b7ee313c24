//! One routed call: tier by tier, pick, call, fall back while the retry budget allows.

use std::time::Duration;

use http::StatusCode;
use tower::ServiceExt;

use agent_gateway_core::BoxError;
use agent_gateway_core::upstream::error::find;
use agent_gateway_core::upstream::retry::Budget;

use super::health::pick;
use super::{Route, Table};
use crate::LlmRequest;
use crate::LlmResponse;
use crate::error::{UpstreamStatus, UpstreamUnavailable};
use crate::provider::ProviderRequest;

impl Table {
    pub(super) async fn route(
        &self,
        tiers: &[Vec<Route>],
        req: LlmRequest,
    ) -> Result<LlmResponse, BoxError> {
        self.budget.deposit();
        let mut last: Option<BoxError> = None;
        let mut soonest: Option<Duration> = None;
        let mut attempts = 0usize;
        for tier in tiers {
            let mut tried = vec![false; tier.len()];
            loop {
                let now = self.clock.now();
                let mut candidates = Vec::with_capacity(tier.len());
                for (i, route) in tier.iter().enumerate() {
                    if tried[i] {
                        continue;
                    }
                    match route.health.cooling(now) {
                        Some(wait) => soonest = Some(soonest.map_or(wait, |s| s.min(wait))),
                        None => candidates.push(i),
                    }
                }
                let Some(i) = pick(&self.rng, tier, &candidates) else {
                    if let Some(&i) = candidates.first() {
                        // Every candidate left is open: say so if nothing better is known.
                        if let Err(open) = tier[i].health.breaker.try_acquire() {
                            last.get_or_insert(open.into());
                        }
                    }
                    break;
                };
                tried[i] = true;
                let route = &tier[i];
                let permit = match route.health.breaker.try_acquire() {
                    Ok(permit) => permit,
                    Err(open) => {
                        last = Some(open.into());
                        continue;
                    }
                };
                // Every call after the first is a retry, and spends from the budget. (The
                // unused permit is dropped: no outcome is reported for it.)
                if attempts > 0 && !self.budget.withdraw() {
                    tracing::debug!(
                        alias = req.model().unwrap_or_default(),
                        "llm router: retry budget spent, no more fallbacks"
                    );
                    return Err(last
                        .unwrap_or_else(|| UpstreamUnavailable::new("retry budget spent").into()));
                }
                attempts += 1;
                let call = ProviderRequest::new(req.clone(), route.deployment.model.clone())
                    .with_price(route.deployment.price);
                let in_flight = route.health.start();
                let sent = self.clock.now();
                // Dropping this future (the client went away) drops the provider's future
                // and with it the upstream request.
                let result = route.provider.clone().oneshot(call).await;
                drop(in_flight);
                match result {
                    Ok(res) => {
                        route
                            .health
                            .load
                            .record(self.clock.now().saturating_duration_since(sent));
                        permit.succeeded();
                        // No fallback from here on: the answer, streamed or not, is the
                        // client's, and a stream's bytes are never replayed elsewhere.
                        return Ok(res);
                    }
                    Err(e) if is_failover(e.as_ref()) => {
                        route
                            .health
                            .load
                            .record(self.clock.now().saturating_duration_since(sent));
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

/// Errors another deployment may not repeat: 408, 429, 5xx, unreachable, timed out.
fn is_failover(e: &(dyn std::error::Error + 'static)) -> bool {
    find::<UpstreamStatus>(e).is_some_and(UpstreamStatus::is_retryable)
        || find::<UpstreamUnavailable>(e).is_some()
        || find::<tower::timeout::error::Elapsed>(e).is_some()
}
