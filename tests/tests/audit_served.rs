//! The audit record names who served each call, as the real protocol routers report it: the
//! MCP federation's upstream server (and the instance of a pool that answered), the A2A agent and the instance its balancer chose (also
//! after failing over), the LLM provider and the deployment that answered (also after a
//! fallback), for whole and streamed answers.

#![allow(clippy::unwrap_used)]

mod audit_support;

use agent_gateway_a2a::op::Operation;
use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::request::{A2aRequest, Binding};
use agent_gateway_a2a::response::Reply;
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use std::num::NonZeroU32;
use std::time::Duration;

use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
use agent_gateway_core::{ManualClock, Secret};
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{Api, Dialect, LlmRequest};
use agent_gateway_mcp::McpRequest;
use agent_gateway_mcp::connector::Pool;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_policy::audit::{AuditLayer, AuditRecord};
use audit_support::{log, records};
use http_body_util::BodyExt;
use serde_json::json;
use tower::{Layer, ServiceExt};

fn served(r: &AuditRecord) -> (&str, Option<&str>, Option<&str>, &str) {
    (
        r.target.as_deref().unwrap_or(""),
        r.upstream.as_deref(),
        r.instance.as_deref(),
        r.outcome.as_str(),
    )
}

#[tokio::test]
async fn mcp_records_name_the_federated_upstream() {
    let (dir, log) = log("served-mcp");
    let (web, fs) = (
        FakeMcpServer::new().with_echo_tool("search"),
        FakeMcpServer::new().with_echo_tool("read"),
    );
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("web").unwrap(), web))
        .member(Member::new(ServerName::new("fs").unwrap(), fs))
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(fed);
    for (id, tool) in [(1, "web__search"), (2, "fs__read")] {
        let call = McpRequest::from_value(id, "tools/call", json!({"name": tool, "arguments": {}}));
        svc.clone().oneshot(call).await.unwrap();
    }
    // A listing asks every upstream: no one of them served it.
    let list = McpRequest::from_value(3, "tools/list", json!({}));
    svc.clone().oneshot(list).await.unwrap();
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(served).collect();
    assert_eq!(
        got,
        [
            ("web__search", Some("web"), None, "ok"),
            ("fs__read", Some("fs"), None, "ok"),
            ("", None, None, "ok"),
        ]
    );
}

/// A pool of two instances behind one federated upstream: each record names the instance that
/// answered, as the instances' own call counts show, and a call that reached no instance names
/// none. One instance is stopped at a time, so that the calls land on each.
#[tokio::test]
async fn mcp_records_name_the_pool_instance_that_answered() {
    let (dir, log) = log("served-mcp-pool");
    let (a, b) = (
        FakeMcpServer::new().with_echo_tool("search"),
        FakeMcpServer::new().with_echo_tool("search"),
    );
    let clock = ManualClock::new();
    let pool = Pool::builder(UpstreamName::new("web").unwrap())
        .instance(InstanceId::new("web-a").unwrap(), a.clone())
        .instance(InstanceId::new("web-b").unwrap(), b.clone())
        .with_breaker(BreakerConfig::new(NonZeroU32::MIN, Duration::from_secs(30)))
        .with_clock(clock.shared())
        .with_seed(11)
        .build()
        .unwrap();
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("web").unwrap(), pool))
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(fed);
    let call = |id: i64| {
        McpRequest::from_value(
            id,
            "tools/call",
            json!({"name": "web__search", "arguments": {}}),
        )
    };
    // Which instance each call reached, by the instances' own counts.
    let mut landed = Vec::new();
    let mut id = 0;
    for (up, down) in [(&a, &b), (&b, &a)] {
        down.set_down(true);
        up.set_down(false);
        // The stopped instance's breaker opens at its first failure; the other's cooldown
        // (from the round before) is over.
        clock.advance(Duration::from_secs(31));
        for _ in 0..6 {
            id += 1;
            let before = (a.calls(), b.calls());
            let ok = svc.clone().oneshot(call(id)).await.is_ok();
            let after = (a.calls(), b.calls());
            landed.push(match (ok, after.0 > before.0, after.1 > before.1) {
                (true, true, false) => Some("web-a"),
                (true, false, true) => Some("web-b"),
                (false, _, _) => None,
                other => panic!("call {id}: {other:?}"),
            });
        }
    }
    let records = records(&dir, &log).await;
    assert_eq!(records.len(), landed.len());
    for (record, instance) in records.iter().zip(&landed) {
        let outcome = if instance.is_some() { "ok" } else { "error" };
        assert_eq!(
            served(record),
            ("web__search", Some("web"), *instance, outcome),
            "{record:?}"
        );
    }
    assert!(
        landed.contains(&Some("web-a")) && landed.contains(&Some("web-b")),
        "{landed:?}"
    );
}

#[tokio::test]
async fn a2a_records_name_the_agent_and_the_instance_that_answered() {
    let (dir, log) = log("served-a2a");
    let (down, up) = (FakeAgent::new("travel"), FakeAgent::new("travel"));
    down.set_down(true);
    let agent = Agent::new("travel")
        .unwrap()
        .instance(
            "i-down",
            "http://down.internal/",
            Version::V1_0,
            down.connector(),
        )
        .unwrap()
        .instance("i-up", "http://up.internal/", Version::V1_0, up.connector())
        .unwrap();
    let router = A2aRouter::new(
        AgentRegistry::builder().agent(agent).build().unwrap(),
        Sealer::new(Secret::new(vec![3; 32])).unwrap(),
    );
    let svc = AuditLayer::new(log.clone()).layer(router);
    let message = |id: &str| json!({"message": {"messageId": id, "role": "ROLE_USER", "parts": [{"text": "hi"}]}});
    let rest = || Binding::Rest { tenant: None };
    // Whichever instance the balancer picks first, the answer comes from the one that is up.
    for id in ["m1", "m2", "m3"] {
        let send = A2aRequest::new(
            "travel",
            Operation::SendMessage,
            Version::V1_0,
            rest(),
            message(id),
        );
        svc.clone().oneshot(send).await.unwrap();
    }
    let stream = A2aRequest::new(
        "travel",
        Operation::SendStreamingMessage,
        Version::V1_0,
        rest(),
        message("m4"),
    );
    let res = svc.clone().oneshot(stream).await.unwrap();
    let Reply::Stream(mut events) = res.into_reply() else {
        panic!("a streamed answer")
    };
    let mut n = 0;
    while let Some(event) = std::future::poll_fn(|cx| events.poll_next(cx)).await {
        event.unwrap();
        n += 1;
    }
    assert!(n > 0);
    drop(events);
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(served).collect();
    let want = ("travel", Some("travel"), Some("i-up"), "ok");
    assert_eq!(got, [want; 4]);
    assert!(
        records[3].duration_ms.is_some(),
        "the stream's record is written at its end"
    );
    assert!(up.calls() >= 4);
}

#[tokio::test]
async fn llm_records_name_the_provider_and_the_deployment_that_answered() {
    let (dir, log) = log("served-llm");
    let primary = FakeProvider::new().with_default(Script::error(500, "boom"));
    let backup = FakeProvider::new().with_default(Script::text("from backup").with_usage(5, 2));
    let router = LlmRouter::builder()
        .provider(
            "a",
            OpenAiProvider::new(primary.clone(), "http://a.test/v1").unwrap(),
        )
        .provider(
            "b",
            OpenAiProvider::new(backup.clone(), "http://b.test/v1").unwrap(),
        )
        .alias("fast", Deployment::new("a", "model-a"))
        .tier("fast", [Deployment::new("b", "model-b")])
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(router);
    let chat = |stream: bool| json!({"model": "fast", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    for stream in [false, true] {
        let req = LlmRequest::decode(Api::ChatCompletions, chat(stream)).unwrap();
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.is_stream(), stream);
        let body = res.into_http(Dialect::OpenAi).into_body().collect().await;
        let body = String::from_utf8_lossy(&body.unwrap().to_bytes()).into_owned();
        // A stream carries the text in pieces, and ends with its terminator.
        let want = if stream { "[DONE]" } else { "from backup" };
        assert!(body.contains(want), "{body}");
    }
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(served).collect();
    let want = ("fast", Some("b"), Some("model-b"), "ok");
    assert_eq!(got, [want; 2]);
    assert_eq!(records[1].usage.as_ref().map(|u| u.output_tokens), Some(2));
    assert!(primary.calls() >= 1);
}
