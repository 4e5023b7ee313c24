//! Three gateway replicas, each with its own Redis connection, share one spend budget on a real
//! `redis-server`: 64 concurrent calls against a budget one call short are admitted exactly up
//! to the limit, because each reserves its estimated cost atomically (finding 13).
#![cfg(feature = "redis")]

mod redis_support;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::response::Reply;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{
    Action, AgentRequest, BoxError, Call, Caller, Cost, Denied, DeniedKind, Usage,
};
use agent_gateway_policy::budget::{BudgetLayer, Level, Scope};
use agent_gateway_policy::redis::RedisStore;
use redis_support::RedisServer;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use tower::{ServiceBuilder, ServiceExt};

const REPLICAS: usize = 3;
const CLIENTS: usize = 64;
/// What every call costs, and what it reserves: ten cents.
const COST: u64 = 100_000_000;

type Upstream = FakeUpstream<fn(Call) -> Result<Reply, Infallible>>;

fn respond(_: Call) -> Result<Reply, Infallible> {
    Ok(Reply::with_usage(
        Value::Null,
        Usage::tokens(10, 10).with_cost(Cost::from_nano_usd(COST)),
    ))
}

fn estimate(_: &dyn AgentRequest) -> Option<Cost> {
    Some(Cost::from_nano_usd(COST))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_reserve_so_concurrent_calls_cannot_overspend() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let server = RedisServer::start();
    let limit = Cost::from_nano_usd(COST * (CLIENTS as u64 - 1));
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        let store = RedisStore::connect(&server.url())
            .await
            .expect("connect to redis-server")
            .with_prefix("gw:")
            .with_timeout(Duration::from_millis(300));
        let layer = BudgetLayer::new(store)
            .with_limit(Level::Key, limit)
            .with_estimate(estimate);
        let upstream: Upstream =
            FakeUpstream::new(respond as fn(Call) -> Result<Reply, Infallible>);
        replicas.push((layer, upstream));
    }
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (layer, upstream) = replicas[client % REPLICAS].clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let call = Call::new(Action::ModelCall, json!({})).with_caller(Caller::new("alice"));
            let res: Result<Reply, BoxError> = ServiceBuilder::new()
                .layer(layer)
                .service(upstream)
                .oneshot(call)
                .await;
            match res {
                Ok(_) => 1,
                Err(err) => {
                    let denied = Denied::find(err.as_ref()).expect("a denial");
                    assert_eq!(denied.kind(), &DeniedKind::BudgetExhausted, "{denied}");
                    0
                }
            }
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        admitted += task.await.expect("client task");
    }
    assert_eq!(admitted, CLIENTS - 1);
    // Every settlement lands (the estimate was exact, so there is nothing to correct), and the
    // spend is the limit, not a cent more.
    let spend = replicas[0]
        .0
        .spend(&Scope::key(Caller::new("alice").principal_id()))
        .await
        .expect("spend");
    assert_eq!(spend.spent, limit);
}
