//! One routed call: pick (best tier first), call, fall back while the retry budget allows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;

use agent_gateway_core::BoxError;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::{Failure, ServedBy, UpstreamCode, UpstreamError};
use agent_gateway_core::upstream::retry::Budget;

use super::{Alias, Table};
use crate::error::{InvalidRequest, UpstreamStatus, UpstreamTimeout, UpstreamUnavailable};
use crate::provider::ProviderRequest;
use crate::{LlmRequest, LlmResponse};

impl Table {
    /// Sends `req` to a deployment of `alias`; on a failure another deployment may not
    /// repeat, to the next one core's balancer picks (the rest of the tier, then the next
    /// tier), each fallback paid from the retry budget.
    pub(super) async fn route(
        &self,
        alias: &Alias,
        req: LlmRequest,
    ) -> Result<LlmResponse, BoxError> {
        // Price- or tool-changing features go only where the deployment allows them.
        let used = req.features();
        let allowed: Vec<bool> = alias
            .routes
            .iter()
            .map(|r| r.deployment.allows(&used))
            .collect();
        if let Some(feature) = used.iter().find(|f| {
            !alias
                .routes
                .iter()
                .any(|r| r.deployment.features.contains(f))
        }) {
            return Err(InvalidRequest::new(format!(
                "`{}` is not allowed for model `{}` on this gateway",
                feature.param(),
                req.model().unwrap_or_default()
            ))
            .with_param(feature.param())
            .into());
        }
        if !allowed.contains(&true) {
            return Err(InvalidRequest::new(format!(
                "this combination of features is not allowed for model `{}` on this gateway",
                req.model().unwrap_or_default()
            ))
            .into());
        }
        self.budget.deposit();
        // Shared by every deployment tried: its headers and extensions are not copied.
        let req = Arc::new(req);
        // A deployment that does not allow the request's features counts as tried.
        let mut tried: Vec<bool> = allowed.iter().map(|a| !a).collect();
        let mut last: Option<BoxError> = None;
        loop {
            let now = self.clock.now();
            let eligible = |i: usize| !tried[i] && alias.routes[i].rest.remaining(now).is_none();
            let Ok(picked) = alias.balanced.pick_where(eligible) else {
                return Err(self.exhausted(alias, &tried, now, last));
            };
            // Every call after the first is a retry, and spends from the budget. (The unused
            // pick is dropped: no outcome is reported for it.)
            if last.is_some() && !self.budget.withdraw() {
                tracing::debug!(model = req.model(), "llm router: retry budget spent");
                return Err(self.exhausted(alias, &tried, now, last));
            }
            let route = &alias.routes[picked.index()];
            tried[picked.index()] = true;
            let call = ProviderRequest::shared(req.clone(), route.model.clone())
                .with_price(route.deployment.price)
                .with_timeouts(route.deployment.timeouts);
            // The balancer's future reports the outcome to the deployment's breaker and its
            // latency (to the headers, for a stream) to its estimate. Dropping it (the client
            // went away) drops the provider's future and with it the upstream request.
            let deployment = &route.deployment;
            let served = || {
                ServedBy::new(deployment.provider.as_str()).with_instance(deployment.model.as_str())
            };
            // What the provider did (its error status, its silence, no answer) is tagged as
            // its own, for the audit record.
            match alias
                .balanced
                .call_picked(picked, call)
                .await
                .map_err(|e| tag(e, served))
            {
                // No fallback from here on: the answer, streamed or not, is the client's, and
                // a stream's bytes are never replayed elsewhere.
                Ok(res) => return Ok(res.with_served_by(served())),
                Err(e) if is_failover(e.as_ref()) => {
                    let status = cause_ref::<UpstreamStatus>(e.as_ref());
                    if let Some(after) = status.and_then(UpstreamStatus::retry_after) {
                        route.rest.rest_for(self.clock.now(), after);
                    }
                    tracing::debug!(deployment = %route.deployment.provider, error = %e, "llm router: falling back");
                    last = Some(e);
                }
                // The request's own fault, not the deployment's.
                Err(e) => return Err(e),
            }
        }
    }

    /// The error of a call no deployment is left for: the last failure; else an open breaker;
    /// else a 429 with the shortest rest left; else no deployment at all.
    fn exhausted(
        &self,
        alias: &Alias,
        tried: &[bool],
        now: Instant,
        last: Option<BoxError>,
    ) -> BoxError {
        if let Some(e) = last {
            return e;
        }
        let untried = || (0..alias.routes.len()).filter(|&i| !tried[i]);
        let resting = |i: usize| alias.routes[i].rest.remaining(now);
        let instances = alias.balanced.upstream().instances();
        if let Some(i) = untried().find(|&i| resting(i).is_none())
            && let Err(open) = instances[i].breaker().try_acquire()
        {
            return open.into();
        }
        let soonest: Option<Duration> = untried().filter_map(resting).min();
        match soonest {
            Some(wait) => UpstreamStatus::new(
                StatusCode::TOO_MANY_REQUESTS,
                "every deployment of this model is rate limited",
            )
            .with_retry_after(Some(wait))
            .into(),
            None => UpstreamUnavailable::new("no deployment").into(),
        }
    }
}

/// `e`, tagged as the provider's doing ([`UpstreamError`], naming the deployment) when it
/// was: an error status, a timeout, no answer. The request's own faults stay untagged.
fn tag(e: BoxError, served: impl FnOnce() -> ServedBy) -> BoxError {
    if e.is::<UpstreamError>() {
        return UpstreamError::served_by_on(e, served);
    }
    let status = cause_ref::<UpstreamStatus>(e.as_ref());
    let failure = if let Some(tagged) = UpstreamError::find(e.as_ref()) {
        tagged.failure()
    } else if status.is_some() {
        Failure::Upstream
    } else if cause_ref::<UpstreamTimeout>(e.as_ref()).is_some()
        || cause_ref::<tower::timeout::error::Elapsed>(e.as_ref()).is_some()
    {
        Failure::Timeout
    } else if cause_ref::<UpstreamUnavailable>(e.as_ref()).is_some() {
        Failure::Unavailable
    } else {
        return e;
    };
    let code = status.map(|s| UpstreamCode::http(s.status()));
    let tagged = UpstreamError::new(failure, e).with_served_by(served());
    Box::new(match code {
        Some(code) => tagged.with_code(code),
        None => tagged,
    })
}

/// Whether an outcome counts against the deployment (for its breaker) and calls for a
/// fallback: 408, 429, 5xx, unreachable, timed out. Other errors (a 400) are the request's.
pub(super) fn is_failure(result: &Result<LlmResponse, BoxError>) -> bool {
    result.as_ref().is_err_and(|e| is_failover(e.as_ref()))
}

/// Errors another deployment may not repeat: 408, 429, 5xx, unreachable, timed out.
fn is_failover(e: &(dyn std::error::Error + 'static)) -> bool {
    cause_ref::<UpstreamStatus>(e).is_some_and(UpstreamStatus::is_retryable)
        || cause_ref::<UpstreamUnavailable>(e).is_some()
        || cause_ref::<UpstreamTimeout>(e).is_some()
        || cause_ref::<tower::timeout::error::Elapsed>(e).is_some()
}
