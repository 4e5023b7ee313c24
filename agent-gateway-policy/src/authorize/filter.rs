//! Filtering listings: a caller never sees what it may not call.
//!
//! Each listed item is decided as if the caller had asked for `item.action` on the target
//! `item.name`, with `args` bound to the empty map: a listing says what may be called, not
//! with which arguments, and the item's own JSON (a tool's schema, an agent's card) is not a
//! call's arguments. The caller, protocol and run scope is built once per listing; only
//! `action`, `target` and `args` are bound again for each item, in a child scope.

use agent_gateway_core::{Action, AgentRequest, AgentResponse, Caller, RunId};

use super::context::{Ask, Subject, bind_ask, subject_scope};
use super::rules::Policy;

/// What a listing filter keeps of the request once the request itself has moved into the
/// inner service: cheap clones of the caller and run, and the policy.
#[derive(Debug, Clone)]
pub(crate) struct ListFilter {
    policy: Policy,
    action: Action,
    caller: Option<Caller>,
    protocol: &'static str,
    run: Option<RunId>,
}

impl ListFilter {
    pub(crate) fn new<R: AgentRequest + ?Sized>(policy: &Policy, request: &R) -> Self {
        ListFilter {
            policy: policy.clone(),
            action: request.action(),
            caller: request.caller().cloned(),
            protocol: request.protocol(),
            run: request.run_id().cloned(),
        }
    }

    /// Removes the items the caller may not use, and returns how many went.
    pub(crate) fn apply<T: AgentResponse + ?Sized>(&self, response: &mut T) -> usize {
        let subject = Subject {
            caller: self.caller.as_ref(),
            protocol: self.protocol,
            run: self.run.as_ref().map(RunId::as_str),
        };
        let needs = self.policy.needs();
        let base = subject_scope(self.policy.env(), needs, &subject);
        let removed = response.retain_items(&mut |item| {
            let mut scope = base.new_inner_scope();
            let ask = Ask {
                action: item.action,
                target: Some(item.name),
                args: None,
            };
            bind_ask(&mut scope, needs, &ask);
            self.policy.decide(&scope, ask.target).is_allowed()
        });
        tracing::debug!(
            action = %self.action,
            subject = self.caller.as_ref().map(Caller::subject),
            filtered = removed,
            "authorize: listing filtered"
        );
        removed
    }
}
