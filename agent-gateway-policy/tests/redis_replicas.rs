//! Three gateway replicas, each with its own Redis connection, share one real `redis-server`:
//! together they admit exactly the limit, fail closed while Redis is down, and recover when it
//! is back.
#![cfg(feature = "redis")]

mod redis_support;

use std::convert::Infallible;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_gateway_core::response::Reply;
use agent_gateway_core::store::Rate;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind, Usage};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Algorithm, Limit, QuotaLayer};
use agent_gateway_policy::redis::RedisStore;
use redis_support::RedisServer;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use tower::{ServiceBuilder, ServiceExt};

const REPLICAS: usize = 3;
const CLIENTS: usize = 64;
const STORE_TIMEOUT: Duration = Duration::from_millis(300);

type Upstream = FakeUpstream<fn(Call) -> Result<Reply, Infallible>>;

/// Reports the call's estimate as its actual usage, so token limits need no settlement.
fn respond(call: Call) -> Result<Reply, Infallible> {
    let tokens = call.estimated_input_tokens().unwrap_or(0);
    Ok(Reply::with_usage(Value::Null, Usage::tokens(tokens, 0)))
}

/// One gateway replica: a quota layer on its own Redis connection, over its own upstream.
#[derive(Clone)]
struct Replica {
    layer: QuotaLayer,
    upstream: Upstream,
}

impl Replica {
    async fn call(&self, req: Call) -> Result<Reply, BoxError> {
        ServiceBuilder::new()
            .layer(self.layer.clone())
            .service(self.upstream.clone())
            .oneshot(req)
            .await
    }
}

async fn replicas(server: &RedisServer, limit: impl Fn() -> Limit) -> Vec<Replica> {
    let mut out = Vec::new();
    for _ in 0..REPLICAS {
        let store = RedisStore::connect(&server.url())
            .await
            .expect("connect to redis-server")
            .with_prefix("gw:")
            .with_timeout(STORE_TIMEOUT);
        out.push(Replica {
            layer: QuotaLayer::new(store).with_limit(limit()),
            upstream: FakeUpstream::new(respond as fn(Call) -> Result<Reply, Infallible>),
        });
    }
    out
}

fn per_hour(limit: u64) -> Rate {
    Rate::per_hour(NonZeroU64::new(limit).expect("non-zero"))
}

fn call(subject: &str, tokens: u64) -> Call {
    Call::new(Action::ModelCall, json!({}))
        .with_caller(Caller::new(subject))
        .with_estimated_input_tokens(tokens)
}

/// Runs `CLIENTS` concurrent clients, each sending `per_client` calls by `subject` to the
/// replicas in turn, all released at once. Returns how many were admitted.
async fn storm(replicas: &[Replica], subject: &str, tokens: u64, per_client: usize) -> usize {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let replica = replicas[client % replicas.len()].clone();
        let barrier = barrier.clone();
        let subject = subject.to_owned();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut admitted = 0;
            for _ in 0..per_client {
                match replica.call(call(&subject, tokens)).await {
                    Ok(_) => admitted += 1,
                    Err(err) => {
                        let denied = Denied::find(err.as_ref()).expect("a denial");
                        assert!(
                            matches!(denied.kind(), DeniedKind::QuotaExceeded { .. }),
                            "{denied}"
                        );
                    }
                }
            }
            admitted
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        admitted += task.await.expect("client task");
    }
    admitted
}

fn upstream_calls(replicas: &[Replica]) -> usize {
    replicas.iter().map(|r| r.upstream.calls()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_limits_exactly_and_fail_closed_while_redis_is_down() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let mut server = RedisServer::start();

    // Requests, GCRA: 50 per hour, demand 128.
    let rpm = replicas(&server, || Limit::requests("req", Subject, per_hour(50))).await;
    assert_eq!(storm(&rpm, "alice", 0, 2).await, 50);
    assert_eq!(upstream_calls(&rpm), 50);

    // Requests, fixed window: 37 per hour, demand 128.
    let exact = replicas(&server, || {
        Limit::requests("win", Subject, per_hour(37)).with_algorithm(Algorithm::FixedWindow)
    })
    .await;
    assert_eq!(storm(&exact, "alice", 0, 2).await, 37);
    assert_eq!(upstream_calls(&exact), 37);

    // Tokens: 1000 per hour at 30 a call fits 33 calls (990), demand 64.
    let tpm = replicas(&server, || Limit::tokens("tok", Subject, per_hour(1000))).await;
    assert_eq!(storm(&tpm, "alice", 30, 1).await, 33);
    assert_eq!(upstream_calls(&tpm), 33);

    // Redis goes away: every replica refuses at once, within the store's timeout.
    server.kill();
    for replica in &rpm {
        for _ in 0..2 {
            let start = Instant::now();
            let err = replica
                .call(call("bob", 0))
                .await
                .expect_err("redis is down");
            let denied = Denied::find(err.as_ref()).expect("a denial");
            assert_eq!(denied.kind(), &DeniedKind::Unavailable);
            assert_eq!(denied.rule(), Some("req"));
            assert!(
                start.elapsed() < STORE_TIMEOUT + Duration::from_secs(1),
                "a call took {:?} while redis was down",
                start.elapsed()
            );
        }
    }
    assert_eq!(
        upstream_calls(&rpm),
        50,
        "nothing got through while redis was down"
    );

    // Redis is back on the same port: each replica reconnects by itself.
    server.restart();
    for (i, replica) in rpm.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match replica.call(call("carol", 0)).await {
                Ok(_) => break,
                Err(err) => {
                    let denied = Denied::find(err.as_ref()).expect("a denial");
                    assert_eq!(denied.kind(), &DeniedKind::Unavailable);
                    assert!(
                        Instant::now() < deadline,
                        "replica {i} did not reconnect to redis within 20 s"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    assert_eq!(upstream_calls(&rpm), 50 + REPLICAS);
    // And the shared limit holds again on the fresh server.
    assert_eq!(storm(&rpm, "dave", 0, 1).await, 50);
}
