//! Authorization: allow and deny rules, written in CEL, over who calls, what, on which target
//! and with which arguments, also filtering listings so a caller only sees what it may call.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::{Action, BoxError, Call, Caller, Denied};
//! use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let policy = Rules::new()
//!     .allow(
//!         "admins-delete",
//!         r#"action == "tool_call" && target.startsWith("fs.delete_") && "admin" in caller.roles"#,
//!     )
//!     .allow_targets("anyone-reads", ["fs.read_*"])
//!     .compile()
//!     .expect("rules compile");
//! let stack = ServiceBuilder::new()
//!     .layer(AuthorizeLayer::new(policy))
//!     .service(service_fn(|_call: Call| async { Ok::<_, BoxError>(Reply::new(json!("done"))) }));
//!
//! let delete = |who: Caller| {
//!     Call::new(Action::ToolCall, json!({"path": "/data/x"}))
//!         .with_target("fs.delete_file")
//!         .with_caller(who)
//! };
//!
//! // An admin may delete.
//! let reply = stack.clone().oneshot(delete(Caller::new("root").with_role("admin"))).await;
//! assert_eq!(reply.unwrap().into_output(), json!("done"));
//!
//! // A reader may not: no rule allows it, so the default denies, and says so.
//! let err = stack.oneshot(delete(Caller::new("bob").with_role("reader"))).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).expect("a denial");
//! assert_eq!(denied.rule(), Some("default-deny"));
//! assert_eq!(denied.http_status(), http::StatusCode::FORBIDDEN);
//! # });
//! ```
//!
//! # The variables a rule sees
//!
//! This is the contract between rules and the gateway; every protocol fills it the same way.
//!
//! | variable | CEL type | value |
//! |---|---|---|
//! | `caller` | map | `subject`, `issuer`, `tenant`, `team`, `method` (strings, `""` when unset), `principal` (string: [`Caller::principal_id`](agent_gateway_core::Caller::principal_id), authenticator, issuer, tenant and subject; compare it, not `subject`, to tell callers apart across authenticators), `roles`, `scopes` (lists of strings), `claims` (map, converted like `args`), `anonymous` (bool) |
//! | `action` | string | [`Action::as_str`](agent_gateway_core::Action::as_str): `"tool_call"`, `"model_call"`, `"agent_message"`, `"list_tools"`, ... |
//! | `target` | string | the tool, prompt, resource, agent or model alias, `""` if none; an MCP resource URI is normalised before rules see it (RFC 3986 dot segments removed, percent-encoded unreserved characters decoded), so `fs+file:///srv/../etc/passwd` is `fs+file:///etc/passwd` |
//! | `args` | map (or any JSON shape) | the request's JSON arguments; the empty map if it has none |
//! | `protocol` | string | `"mcp"`, `"a2a"`, `"llm"`, ... |
//! | `run` | string | the run id, `""` if none |
//!
//! A request with no caller (no auth layer in front) sees the anonymous caller: subject
//! `"anonymous"`, method `"anonymous"`, `anonymous == true`, no roles, scopes or claims.
//!
//! JSON becomes CEL as follows: an integral number is an `int` (a `uint` above `i64::MAX`),
//! any other number a `double`, `null` stays `null`, arrays are lists and objects maps. So
//! `args.limit <= 100` compares ints, and `args.note == "x"` is simply false when `note` is
//! `null`. Reading a field that is absent is an evaluation error: guard it with `has()`.
//!
//! # How rules decide
//!
//! Any matching deny rule wins; otherwise any matching allow rule allows; otherwise the
//! request is denied by [`DEFAULT_DENY_RULE`]. A rule that fails to evaluate denies (a deny
//! rule) or does not allow (an allow rule). The reasons are on [`Policy`]. Every denial is a
//! [`Denied`] of kind forbidden naming the rule that decided, and
//! the inner service is not called.
//!
//! An argument rule can be written as an allow rule, where the request must satisfy it to be
//! let through, or as a deny rule, whose negation refuses it whatever else allows it:
//!
//! ```text
//! allow "paths-under-data":  action != "tool_call" || (has(args.path) && args.path.startsWith("/data/"))
//! deny  "path-outside-data": action == "tool_call" && !(has(args.path) && args.path.startsWith("/data/"))
//! ```
//!
//! The deny form is usually what is meant: it holds even when another allow rule matches.
//!
//! # Listings
//!
//! Listing actions ([`Action::is_listing`](agent_gateway_core::Action::is_listing):
//! `list_tools`, `list_models`, `discovery`, ...) are decided like any other action first, so
//! a policy needs a rule allowing them. Their response is then filtered: each item stays only
//! if the caller could call it, decided as the action the item names (`tool_call` for a tool,
//! `agent_message` for an agent, `model_call` for a model) on the item's name as `target`,
//! with `args` bound to the **empty map**. A rule that demands an argument therefore hides
//! the items it covers from listings; a rule that only looks at the caller, action and target
//! filters them exactly as it would judge a call. How many items were removed is logged at
//! debug level in the `filtered` field.
#![cfg(feature = "cel")]

mod context;
mod fields;
mod filter;
pub mod future;
mod layer;
mod rules;
#[cfg(test)]
mod tests;

use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, AgentResponse, BoxError, Denied};
use tower::Service;

use self::filter::ListFilter;
use self::future::ResponseFuture;
pub use self::layer::AuthorizeLayer;
pub use self::rules::{DEFAULT_DENY_RULE, Decision, Effect, Policy, RuleError, Rules};
use crate::decided::Listing;

/// The message every authorization denial carries. It names no rule condition: the rule id in
/// [`Denied::rule`] is enough to trace it, and conditions stay private to the operator.
const DENIED_MESSAGE: &str = "not allowed by policy";

/// Enforces a [`Policy`] on the requests it passes on; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Authorize<S> {
    inner: S,
    /// `None` in a [`PolicyStack`](crate::stack::PolicyStack) step without rules.
    policy: Option<Policy>,
}

impl<S> Authorize<S> {
    /// Wraps `inner`, enforcing `policy`.
    pub fn new(inner: S, policy: Policy) -> Self {
        Authorize {
            inner,
            policy: Some(policy),
        }
    }

    /// A pass-through step: calls `inner` as it is, deciding nothing.
    pub(crate) fn pass(inner: S) -> Self {
        Authorize {
            inner,
            policy: None,
        }
    }

    /// A layer that wraps services with `policy`.
    pub fn layer(policy: Policy) -> AuthorizeLayer {
        AuthorizeLayer::new(policy)
    }

    /// The policy enforced, unless this is a stack's pass-through step.
    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
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

impl<S, R> Service<R> for Authorize<S>
where
    R: AgentRequest,
    S: Service<R>,
    S::Response: AgentResponse,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Never Pending for a policy reason: the decision is made in `call`.
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The decision is synchronous (CEL is non-Turing-complete and does no I/O) and the inner
        // future is returned as it is, so the inner service made ready above is the one called,
        // without the clone-and-replace needed when a future has to own the service.
        let Some(policy) = &self.policy else {
            return ResponseFuture::called(self.inner.call(request), None);
        };
        match policy.evaluate(&request) {
            Decision::Deny { rule } => {
                tracing::debug!(
                    rule,
                    action = %request.action(),
                    target = request.target().unwrap_or(""),
                    subject = request.caller().map(|c| c.subject()),
                    "authorize: denied"
                );
                ResponseFuture::denied(Denied::forbidden(DENIED_MESSAGE).with_rule(rule))
            }
            Decision::Allow { rule } => {
                tracing::trace!(rule, action = %request.action(), "authorize: allowed");
                let filter = request
                    .action()
                    .is_listing()
                    .then(|| ListFilter::new(policy, &request))
                    .map(|filter| -> Listing { Box::new(move |r| filter.apply(r)) });
                ResponseFuture::called(self.inner.call(request), filter)
            }
        }
    }
}
