//! The guard layer's tests, by concern: the built-in rails (sizes, deny rules, closures,
//! rewrites), text filters on responses and streams, schema checks, and pins.

#![allow(clippy::unwrap_used)]

mod data;
mod pins;
mod rails;
mod schemas;
mod streams;

use std::sync::Arc;

use agent_gateway_core::response::Reply;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, DeniedKind};
use serde_json::{Value, json};
use tower::{ServiceBuilder, service_fn};

use super::*;
/// A stack with `layer` over an upstream that records the arguments it got and answers
/// `answer`; the count of upstream calls.
pub(super) fn stack(
    layer: GuardLayer,
    answer: Value,
) -> (
    impl tower::Service<Call, Response = Reply, Error = BoxError, Future: Send> + Clone,
    Arc<std::sync::Mutex<Vec<Value>>>,
) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |call: Call| {
            log.lock()
                .unwrap()
                .push(call.arguments().cloned().unwrap_or(Value::Null));
            let answer = answer.clone();
            async move { Ok::<_, BoxError>(Reply::new(answer)) }
        }));
    (svc, seen)
}

pub(super) fn tool_call(tool: &str, args: Value) -> Call {
    Call::new(Action::ToolCall, args)
        .with_protocol("mcp")
        .with_target(tool)
}

pub(super) fn rule_of(err: &BoxError) -> (DeniedKind, String) {
    let d = Denied::find(err.as_ref()).unwrap();
    (d.kind().clone(), d.message().to_owned())
}

pub(super) fn listing(tools: Value) -> Reply {
    let mut reply = Reply::new(json!({"tools": tools.clone()}));
    for t in tools.as_array().unwrap() {
        reply = reply.with_item(Action::ToolCall, t["name"].as_str().unwrap(), t.clone());
    }
    reply
}
