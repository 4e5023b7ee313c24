//! Two gateway replicas, each with its own Redis connection, share one real `redis-server`:
//! they hold one run limit together, a budget header signed by one is honoured by the other,
//! and a loop spread over both is blocked on its Nth call (#14).
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, reason = "test code")]

mod redis_support;

use std::convert::Infallible;
use std::num::NonZeroU64;

use agent_gateway_core::response::Reply;
use agent_gateway_core::run::{RUN_BUDGET_HEADER, RUN_ID_HEADER};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, Secret};
use agent_gateway_policy::redis::RedisStore;
use agent_gateway_policy::run::{HopKey, HopKeys, Loops, RULE_REPEATED_TOOL, RunLayer, RunLimits};
use http::HeaderValue;
use redis_support::RedisServer;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

type Upstream = FakeUpstream<fn(Call) -> Result<Reply, Infallible>>;

/// Answers with the budget header the gateway forwarded, so a test can hand it on.
fn respond(call: Call) -> Result<Reply, Infallible> {
    let header = call
        .headers()
        .get(RUN_BUDGET_HEADER)
        .map(|h| h.to_str().unwrap().to_owned());
    Ok(Reply::new(json!(header)))
}

/// One replica: its own Redis connection, the same configuration and signing key.
async fn replica(server: &RedisServer) -> (RunLayer, Upstream) {
    let store = RedisStore::connect(&server.url())
        .await
        .expect("connect to redis-server")
        .with_prefix("gw:");
    let key = HopKey::new("k1", Secret::new(vec![3; 32])).unwrap();
    let loops = Loops {
        repeats: NonZeroU64::new(3).unwrap(),
        ..Loops::default()
    };
    let layer = RunLayer::new(store)
        .with_limits(RunLimits::new().with_tool_calls(4))
        .with_caller_limits("sub", RunLimits::new().with_tool_calls(50))
        .with_keys(HopKeys::new(key))
        .with_loops(Some(loops));
    let upstream = FakeUpstream::new(respond as fn(Call) -> Result<Reply, Infallible>);
    (layer, upstream)
}

async fn call(replica: &(RunLayer, Upstream), req: Call) -> Result<Value, BoxError> {
    let svc = replica.0.layer(replica.1.clone());
    svc.oneshot(req).await.map(Reply::into_output)
}

fn tool(n: u64, header: (&'static str, HeaderValue)) -> Call {
    let mut call = Call::new(Action::ToolCall, json!({"n": n})).with_target("search");
    call.headers_mut().insert(header.0, header.1);
    call
}

fn rule(err: &BoxError) -> Option<String> {
    Denied::find(err.as_ref()).and_then(|d| d.rule().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_sharing_redis_hold_one_run_limit() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let server = RedisServer::start();
    let a = replica(&server).await;
    let b = replica(&server).await;
    let run = || (RUN_ID_HEADER, HeaderValue::from_static("shared-run"));

    // Replica A: one tool call, and a message to a sub-agent, whose header it signs.
    call(&a, tool(1, run())).await.unwrap();
    let mut msg = Call::new(Action::AgentMessage, json!({})).with_target("sub-agent");
    msg.headers_mut().insert(run().0, run().1);
    let header = call(&a, msg).await.unwrap();
    let header = HeaderValue::from_str(header.as_str().unwrap()).unwrap();

    // The sub-agent calls replica B with it: B verifies A's signature and counts in the same
    // run, so only three of the run's four tool calls are left, whatever its own limit (50).
    let mut served = 0;
    let mut refused = Vec::new();
    for n in 10..16 {
        let req = tool(n, (RUN_BUDGET_HEADER, header.clone())).with_caller(Caller::new("sub"));
        let on = if n % 2 == 0 { &a } else { &b };
        match call(on, req).await {
            Ok(_) => served += 1,
            Err(e) => refused.push(rule(&e)),
        }
    }
    assert_eq!(served, 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|r| r.as_deref() == Some("run.tool_calls")),
        "{refused:?}"
    );
    // And the run itself, on either replica, has nothing left.
    let err = call(&b, tool(2, run())).await.unwrap_err();
    assert_eq!(rule(&err).as_deref(), Some("run.tool_calls"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_spread_over_two_replicas_is_blocked_on_the_nth_call() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let server = RedisServer::start();
    let a = replica(&server).await;
    let b = replica(&server).await;
    let run = || (RUN_ID_HEADER, HeaderValue::from_static("looping-run"));
    assert!(call(&a, tool(7, run())).await.is_ok());
    assert!(call(&b, tool(7, run())).await.is_ok());
    let err = call(&a, tool(7, run())).await.unwrap_err();
    assert_eq!(rule(&err).as_deref(), Some(RULE_REPEATED_TOOL));
    assert_eq!(a.0.loop_blocks(), 1);
}
