//! A full stack in-process, built only from core's public API: a policy written once against
//! the seam, in front of a balanced upstream with two instances, reporting usage at the end.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use agent_gateway_core::response::{AgentResponse, Outcome, Reply};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
use agent_gateway_core::{
    Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind, ManualClock, Usage,
};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use tower::{Service, ServiceExt};

/// A policy written once against the seam: callers need the `tools` scope for tool calls.
#[derive(Clone)]
struct RequireScope<S> {
    inner: S,
}

impl<S, R> Service<R> for RequireScope<S>
where
    R: AgentRequest,
    S: Service<R, Error = BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let allowed =
            req.action() != Action::ToolCall || req.caller().is_some_and(|c| c.has_scope("tools"));
        if allowed {
            Box::pin(self.inner.call(req))
        } else {
            Box::pin(std::future::ready(Err(Denied::forbidden(
                "tool calls need the tools scope",
            )
            .with_rule("scope-tools")
            .into())))
        }
    }
}

fn replica(tokens: u64) -> FakeUpstream<impl Fn(Call) -> Result<Reply, BoxError>> {
    FakeUpstream::new(move |call: Call| {
        let args = call.arguments().cloned().unwrap_or_default();
        Ok(Reply::with_usage(
            json!({"echo": args}),
            Usage::tokens(tokens, tokens),
        ))
    })
}

#[tokio::test]
async fn policy_balancing_and_usage_compose_through_the_seam() {
    let clock = ManualClock::new();
    let (a, b) = (replica(1), replica(1));
    let name = UpstreamName::new("tools").unwrap();
    let registry = Registry::builder()
        .instance(name.clone(), InstanceId::new("a").unwrap(), a.clone())
        .instance(name, InstanceId::new("b").unwrap(), b.clone())
        .with_clock(clock.shared())
        .with_breaker(BreakerConfig::new(
            NonZeroU32::new(2).unwrap(),
            Duration::from_secs(5),
        ))
        .build()
        .unwrap();
    let stack = RequireScope {
        inner: registry.balanced("tools").unwrap(),
    };

    // Allowed: the call reaches one replica and its usage is reported once it ends.
    let call = Call::new(Action::ToolCall, json!({"q": 1}))
        .with_target("tools.search")
        .with_caller(Caller::new("alice").with_scope("tools"));
    let reply = stack.clone().oneshot(call).await.unwrap();
    assert_eq!(reply.output().unwrap()["echo"]["q"], 1);
    let seen = Arc::new(Mutex::new(None));
    let sink = seen.clone();
    reply
        .usage_report()
        .unwrap()
        .on_complete(move |u, o| *sink.lock().unwrap() = Some((u.total_tokens(), o)));
    assert_eq!(*seen.lock().unwrap(), Some((2, Outcome::Complete)));
    assert_eq!(a.calls() + b.calls(), 1);

    // Denied: no scope, the policy refuses and no replica is called.
    let call = Call::new(Action::ToolCall, json!({}))
        .with_target("tools.search")
        .with_caller(Caller::new("mallory"));
    let err = stack.clone().oneshot(call).await.unwrap_err();
    let denied = Denied::find(err.as_ref()).unwrap();
    assert_eq!(denied.kind(), &DeniedKind::Forbidden);
    assert_eq!(denied.rule(), Some("scope-tools"));
    assert_eq!(a.calls() + b.calls(), 1);

    // Listing needs no scope and spreads over both replicas.
    for _ in 0..40 {
        let call = Call::new(Action::ListTools, json!({}));
        stack.clone().oneshot(call).await.unwrap();
    }
    assert_eq!(a.calls() + b.calls(), 41);
    assert!(
        a.calls() > 0 && b.calls() > 0,
        "both replicas serve: {} / {}",
        a.calls(),
        b.calls()
    );
}
