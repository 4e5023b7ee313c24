//! An MCP upstream with several instances, through the whole stack: balanced, one instance
//! killed mid-run (its server really stopped), calls continuing on the other, and breakers
//! opening and recovering on a manual clock.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::ManualClock;
use agent_gateway_core::upstream::breaker::{BreakerConfig, BreakerState};
use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::connector::pool::Pool;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::request::ClientHop;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

/// One instance of the fake server on a loopback port. Aborting its task closes the listener
/// and every open connection: the instance is really gone.
struct Instance {
    fake: FakeMcpServer,
    addr: SocketAddr,
    task: JoinHandle<()>,
    /// Notified when a `tools/call` arrives.
    tool_call: Arc<Notify>,
}

impl Instance {
    async fn start(fake: FakeMcpServer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Instance::serve(fake, listener)
    }

    fn serve(fake: FakeMcpServer, listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let tool_call = Arc::new(Notify::new());
        let front = fake.http(
            McpFrontConfig::new("replica", "1")
                .unwrap()
                .with_allowed_hosts(["127.0.0.1:*"]),
        );
        let seen = tool_call.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let front = front.clone();
                let seen = seen.clone();
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    if req
                        .headers()
                        .get("mcp-method")
                        .is_some_and(|m| m == "tools/call")
                    {
                        seen.notify_one();
                    }
                    front.clone().oneshot(req)
                });
                connections.spawn(async move {
                    let io = TokioIo::new(tcp);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Instance {
            fake,
            addr,
            task,
            tool_call,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Stops the server: the listener and its connections are dropped with the task.
    async fn kill(self) -> (FakeMcpServer, SocketAddr) {
        self.task.abort();
        let _ = self.task.await;
        (self.fake, self.addr)
    }
}

fn id(s: &str) -> InstanceId {
    InstanceId::new(s).unwrap()
}

fn fake() -> FakeMcpServer {
    FakeMcpServer::new()
        .with_echo_tool("echo")
        .with_prompt("greet")
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

const COOLDOWN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_balanced_one_killed_mid_run_calls_continue_and_it_recovers() {
    let a = Instance::start(fake()).await;
    let b = Instance::start(fake()).await;
    let clock = ManualClock::new();
    let pool = Pool::builder(UpstreamName::new("tools").unwrap())
        .instance(id("a"), HttpUpstream::connect(a.url().parse().unwrap()))
        .instance(id("b"), HttpUpstream::connect(b.url().parse().unwrap()))
        .with_breaker(BreakerConfig::new(NonZeroU32::new(2).unwrap(), COOLDOWN))
        .with_clock(clock.shared())
        .build()
        .unwrap();
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("tools").unwrap(), pool.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap()));

    // Balanced: concurrent calls are served by both instances.
    let calls = (0..16).map(|i| {
        let client = client.clone();
        async move { client.call_tool("tools__echo", json!({"i": i})).await }
    });
    for answer in futures_util::future::join_all(calls).await {
        assert_eq!(answer.unwrap()["content"][0]["type"], "text");
    }
    let (on_a, on_b) = (a.fake.calls_of("tools/call"), b.fake.calls_of("tools/call"));
    assert_eq!(on_a + on_b, 16);
    assert!(on_a > 0 && on_b > 0, "a served {on_a}, b served {on_b}");

    // A tool call is in flight on `a` when `a` dies.
    a.fake.set_hang(true);
    let mut in_flight = None;
    for i in 0..32 {
        let client = client.clone();
        let mut call =
            tokio::spawn(async move { client.call_tool("tools__echo", json!({"late": i})).await });
        tokio::select! {
            () = a.tool_call.notified() => {
                in_flight = Some(call);
                break;
            }
            answer = &mut call => {
                answer.unwrap().unwrap();
            }
        }
    }
    let in_flight = in_flight.expect("no tool call reached a");
    let (a_fake, a_addr) = a.kill().await;

    // At most a clean JSON-RPC error for the call that was running there: never retried.
    if let Err(e) = in_flight.await.unwrap() {
        assert_eq!(e.code(), Some(-32010), "{e}");
    }

    // Idempotent calls continue with no failure the client sees: a failed attempt on `a` is
    // retried on `b`, until `a`'s breaker takes it out.
    let b_lists = b.fake.calls_of("tools/list");
    for _ in 0..12 {
        let tools = client.list_tools().await.unwrap();
        assert_eq!(tools[0]["name"], "tools__echo");
        let prompt = client
            .request("prompts/get", json!({"name": "tools__greet"}))
            .await
            .unwrap();
        assert!(prompt["messages"].is_array());
    }
    assert_eq!(b.fake.calls_of("tools/list"), b_lists + 12);
    assert_eq!(pool.breaker("a").unwrap().state(), BreakerState::Open);
    assert_eq!(pool.breaker("b").unwrap().state(), BreakerState::Closed);

    // With `a` ejected, tool calls all land on `b`.
    let b_calls = b.fake.calls_of("tools/call");
    for i in 0..6 {
        client
            .call_tool("tools__echo", json!({"after": i}))
            .await
            .unwrap();
    }
    assert_eq!(b.fake.calls_of("tools/call"), b_calls + 6);

    // `a` comes back on the same address; it stays out until the cooldown ends on the
    // manual clock, then a probe succeeds and it serves again.
    a_fake.set_hang(false);
    let a = Instance::serve(a_fake, TcpListener::bind(a_addr).await.unwrap());
    let before = a.fake.calls();
    client.list_tools().await.unwrap();
    assert_eq!(
        a.fake.calls(),
        before,
        "an open breaker lets nothing through"
    );
    clock.advance(COOLDOWN);
    client.list_tools().await.unwrap();
    assert_eq!(pool.breaker("a").unwrap().state(), BreakerState::Closed);
    assert!(
        a.fake.calls() > before,
        "the probe reached the recovered instance"
    );
    b.kill().await;
    a.kill().await;
}

#[tokio::test]
async fn the_breaker_opens_after_failures_and_probes_back_on_the_manual_clock() {
    let (a, b) = (fake(), fake());
    let clock = ManualClock::new();
    let pool = Pool::builder(UpstreamName::new("tools").unwrap())
        .instance(id("a"), a.clone())
        .instance(id("b"), b.clone())
        .with_breaker(
            BreakerConfig::new(NonZeroU32::new(2).unwrap(), COOLDOWN)
                .with_max_cooldown(COOLDOWN * 4),
        )
        .with_clock(clock.shared())
        .without_retries()
        .build()
        .unwrap();
    let list = || UpstreamRequest::new("tools/list", Map::new());
    let breaker = |name: &str| pool.breaker(name).unwrap().state();

    // Without retries a failure reaches the caller; two of them open a's breaker.
    a.set_down(true);
    let mut failures = 0;
    while breaker("a") == BreakerState::Closed {
        if pool.clone().oneshot(list()).await.is_err() {
            failures += 1;
        }
        assert!(failures <= 2, "the breaker opens at the threshold");
    }
    assert_eq!(failures, 2);

    // Open: nothing reaches `a`, every call is served by `b`.
    let b_before = b.calls();
    for _ in 0..5 {
        pool.clone().oneshot(list()).await.unwrap();
    }
    assert_eq!(b.calls(), b_before + 5);

    // Half-open after the cooldown: the probe fails, and the cooldown doubles.
    clock.advance(COOLDOWN);
    assert_eq!(breaker("a"), BreakerState::HalfOpen);
    assert!(pool.clone().oneshot(list()).await.is_err());
    assert_eq!(breaker("a"), BreakerState::Open);
    clock.advance(COOLDOWN);
    assert_eq!(breaker("a"), BreakerState::Open, "the cooldown doubled");

    // Recovered: the next probe closes it, and `a` serves again.
    a.set_down(false);
    clock.advance(COOLDOWN);
    let a_before = a.calls();
    pool.clone().oneshot(list()).await.unwrap();
    assert_eq!(breaker("a"), BreakerState::Closed);
    assert_eq!(a.calls(), a_before + 1);
}

#[tokio::test]
async fn only_idempotent_methods_are_retried() {
    let (a, b) = (fake(), fake());
    let pool = Pool::builder(UpstreamName::new("tools").unwrap())
        .instance(id("a"), a.clone())
        .instance(id("b"), b.clone())
        .with_breaker(BreakerConfig::new(NonZeroU32::new(100).unwrap(), COOLDOWN))
        .build()
        .unwrap();
    let call = || UpstreamRequest::new("tools/call", params(json!({"name": "echo"})));
    let read = || UpstreamRequest::new("prompts/get", params(json!({"name": "greet"})));
    a.set_down(true);
    let (mut failed, mut served) = (0, 0);
    for _ in 0..20 {
        match pool.clone().oneshot(call()).await {
            Ok(_) => served += 1,
            Err(e) => {
                assert_eq!(e.to_string(), "upstream tools is unavailable");
                failed += 1;
            }
        }
        // A read never fails while one instance is up.
        pool.clone().oneshot(read()).await.unwrap();
    }
    assert!(failed > 0, "some tool calls were sent to the dead instance");
    assert_eq!(
        b.calls_of("tools/call"),
        served,
        "a failed tool call is not sent again"
    );
    assert_eq!(b.calls_of("prompts/get"), 20);
    // A JSON-RPC error from the server is an answer: not retried, passed on as is.
    a.set_down(false);
    let missing = UpstreamRequest::new("prompts/get", params(json!({"name": "nope"})));
    let before = a.calls() + b.calls();
    let err = pool.clone().oneshot(missing).await.unwrap_err();
    assert!(err.to_string().starts_with("upstream error"), "{err}");
    assert_eq!(a.calls() + b.calls(), before + 1);
}

#[tokio::test]
async fn a_legacy_session_sticks_to_one_instance_and_moves_when_it_dies() {
    let (a, b) = (fake(), fake());
    let pool = Pool::builder(UpstreamName::new("tools").unwrap())
        .instance(id("a"), a.clone())
        .instance(id("b"), b.clone())
        .with_breaker(BreakerConfig::new(NonZeroU32::MIN, COOLDOWN))
        .with_clock(ManualClock::new().shared())
        .build()
        .unwrap();
    let in_session = |key: &str| {
        let hop = ClientHop::new(json!({}), None).with_session(key);
        UpstreamRequest::new("tools/list", Map::new()).with_client(Some(hop))
    };
    let served_by = |before: (usize, usize)| match (a.calls() - before.0, b.calls() - before.1) {
        (1, 0) => "a",
        (0, 1) => "b",
        other => panic!("one call, served {other:?}"),
    };
    let mut homes = Vec::new();
    for key in ["s1", "s2", "s3", "s4", "s5", "s6"] {
        let mut home = None;
        for _ in 0..4 {
            let before = (a.calls(), b.calls());
            pool.clone().oneshot(in_session(key)).await.unwrap();
            let now = served_by(before);
            assert_eq!(*home.get_or_insert(now), now, "session {key} moved");
        }
        homes.push((key, home.unwrap()));
    }
    let on_a: Vec<_> = homes.iter().filter(|(_, h)| *h == "a").collect();
    assert!(!on_a.is_empty() && on_a.len() < homes.len(), "{homes:?}");

    // `a` dies: its sessions move to `b` (the failed attempt is retried there), the others
    // stay where they were.
    a.set_down(true);
    for (key, _) in &homes {
        let before = b.calls();
        pool.clone().oneshot(in_session(key)).await.unwrap();
        assert_eq!(b.calls(), before + 1);
    }
}

#[tokio::test]
async fn a_legacy_clients_calls_through_the_front_stay_on_one_instance() {
    // Two legacy-only instances, in-process over HTTP: each opens upstream sessions.
    let (a, b) = (fake(), fake());
    let upstream = |fake: &FakeMcpServer, host: &str| {
        let http = fake.http(
            McpFrontConfig::new("replica", "1")
                .unwrap()
                .with_modern(false),
        );
        HttpUpstream::new(http, format!("http://{host}/mcp").parse().unwrap())
    };
    let pool = Pool::builder(UpstreamName::new("tools").unwrap())
        .instance(id("a"), upstream(&a, "a.test"))
        .instance(id("b"), upstream(&b, "b.test"))
        .build()
        .unwrap();
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("tools").unwrap(), pool))
        .build()
        .unwrap();
    let front = McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap());
    let mut homes = Vec::new();
    // Session ids are random, so which instance a session lands on is too: keep opening
    // sessions (bounded: all of 64 on one instance has odds of 2^-63) until both have one.
    for _ in 0..64 {
        if homes.contains(&true) && homes.contains(&false) {
            break;
        }
        let client = McpClient::legacy(front.clone());
        let before = (a.calls_of("tools/call"), b.calls_of("tools/call"));
        for i in 0..4 {
            client
                .call_tool("tools__echo", json!({"i": i}))
                .await
                .unwrap();
        }
        let served = (
            a.calls_of("tools/call") - before.0,
            b.calls_of("tools/call") - before.1,
        );
        // Every call of one client session reached the same instance (listings are not
        // the client's: the federation sends them without its session).
        assert!(served == (4, 0) || served == (0, 4), "{served:?}");
        homes.push(served.0 == 4);
    }
    // Different sessions are spread over the instances.
    assert!(homes.contains(&true) && homes.contains(&false), "{homes:?}");
}
