//! A call that fails because of its upstream is recorded as the upstream's error, with what the
//! upstream answered (its HTTP status, its JSON-RPC code) and which upstream and instance it
//! was, on every protocol: an MCP server's JSON-RPC error and HTTP 500, an A2A agent's error,
//! an LLM provider's 429 and 500. A stream the provider leaves silent is `failed` with
//! `timeout`. The gateway's own refusals stay untagged.

#![allow(clippy::unwrap_used)]

mod audit_support;

use std::convert::Infallible;
use std::time::Duration;

use agent_gateway_a2a::op::Operation;
use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::request::{A2aRequest, Binding};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::upstream::registry::{InstanceId, UpstreamName};
use agent_gateway_core::{BoxError, Secret};
use agent_gateway_llm::provider::{OpenAiProvider, Timeouts};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{Api, Dialect, LlmRequest};
use agent_gateway_mcp::McpRequest;
use agent_gateway_mcp::connector::{HttpUpstream, Pool};
use agent_gateway_mcp::era::Era;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_policy::audit::{AuditLayer, AuditRecord};
use audit_support::{log, records};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt, service_fn};

/// What a failed call's record says: outcome, kind, upstream status, upstream code, upstream,
/// instance.
type Failed<'a> = (
    &'a str,
    Option<&'a str>,
    Option<u16>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
);

fn failed(r: &AuditRecord) -> Failed<'_> {
    (
        r.outcome.as_str(),
        r.error_kind.as_deref(),
        r.upstream_status,
        r.upstream_code,
        r.upstream.as_deref(),
        r.instance.as_deref(),
    )
}

/// An HTTP MCP server that answers every POST with HTTP 500 and no JSON-RPC response.
fn broken_http_server() -> HttpUpstream<impl agent_gateway_core::transport::HttpTransport> {
    let svc = service_fn(|_: Request<Full<Bytes>>| async {
        let mut res = Response::new(Full::new(Bytes::from_static(b"internal error")));
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        Ok::<_, Infallible>(res)
    });
    let uri = http::Uri::from_static("http://files.internal/mcp");
    HttpUpstream::new(BoxCloneSyncService::new(svc), uri).with_era(Era::Modern)
}

#[tokio::test]
async fn mcp_upstream_errors_are_recorded_with_their_code_status_and_instance() {
    let (dir, log) = log("upstream-mcp");
    let tools =
        FakeMcpServer::new().with_tool("fail", |_| Err(ErrorObject::new(-32042, "the tool broke")));
    let pool = Pool::builder(UpstreamName::new("web").unwrap())
        .instance(InstanceId::new("web-1").unwrap(), tools.clone())
        .build()
        .unwrap();
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("web").unwrap(), pool))
        .member(Member::new(
            ServerName::new("files").unwrap(),
            broken_http_server(),
        ))
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(fed);
    let call = |id: i64, name: &str| {
        McpRequest::from_value(id, "tools/call", json!({"name": name, "arguments": {}}))
    };
    for (id, name) in [(1, "web__fail"), (2, "files__read"), (3, "nosuch__tool")] {
        assert!(svc.clone().oneshot(call(id, name)).await.is_err(), "{name}");
    }
    assert_eq!(tools.calls(), 1, "the tool's server was asked once");
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(failed).collect();
    assert_eq!(
        got,
        [
            // The server's own JSON-RPC error, from the pool instance that answered it.
            (
                "error",
                Some("upstream"),
                None,
                Some(-32042),
                Some("web"),
                Some("web-1")
            ),
            // HTTP 500 with no JSON-RPC response (the client sees the upstream unavailable).
            (
                "error",
                Some("upstream"),
                Some(500),
                None,
                Some("files"),
                None
            ),
            // No upstream owns the name: the gateway's own answer, untagged.
            ("error", Some("internal"), None, None, None, None),
        ]
    );
}

#[tokio::test]
async fn a2a_agent_errors_are_recorded_with_their_code_status_and_instance() {
    let (dir, log) = log("upstream-a2a");
    // An agent that crashes: HTTP 500 with a JSON-RPC error.
    let crashing = BoxCloneSyncService::new(service_fn(|_: Request<Full<Bytes>>| async {
        let body = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "boom"}});
        let mut res = Response::new(agent_gateway_a2a::body::full(body.to_string()));
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        Ok::<_, BoxError>(res)
    }));
    // An agent that speaks 0.3 only, registered as 1.0: it answers -32009 in an HTTP 200.
    let old = FakeAgent::new("old").v03();
    let registry = AgentRegistry::builder()
        .agent(
            Agent::new("crash")
                .unwrap()
                .instance("c-1", "http://crash.internal/", Version::V1_0, crashing)
                .unwrap(),
        )
        .agent(
            Agent::new("old")
                .unwrap()
                .instance(
                    "o-1",
                    "http://old.internal/",
                    Version::V1_0,
                    old.connector(),
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let router = A2aRouter::new(registry, Sealer::new(Secret::new(vec![5; 32])).unwrap());
    let svc = AuditLayer::new(log.clone()).layer(router);
    let message =
        json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}});
    for agent in ["crash", "old"] {
        let send = A2aRequest::new(
            agent,
            Operation::SendMessage,
            Version::V1_0,
            Binding::Rest { tenant: None },
            message.clone(),
        );
        let err = svc.clone().oneshot(send).await.unwrap_err();
        // The client still gets the agent's own error.
        let a2a = agent_gateway_a2a::router::find_a2a_error(&*err).unwrap();
        assert!(
            matches!(a2a, agent_gateway_a2a::error::A2aError::Upstream(_)),
            "{a2a:?}"
        );
    }
    assert_eq!(old.calls(), 1);
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(failed).collect();
    assert_eq!(
        got,
        [
            (
                "error",
                Some("upstream"),
                Some(500),
                Some(-32603),
                Some("crash"),
                Some("c-1")
            ),
            (
                "error",
                Some("upstream"),
                None,
                Some(-32009),
                Some("old"),
                Some("o-1")
            ),
        ]
    );
}

#[tokio::test]
async fn llm_provider_errors_are_recorded_with_their_status_and_deployment() {
    let (dir, log) = log("upstream-llm");
    let limited = FakeProvider::new().with_default(Script::error(429, "slow down"));
    let broken = FakeProvider::new().with_default(Script::error(500, "boom"));
    let router = LlmRouter::builder()
        .provider(
            "a",
            OpenAiProvider::new(limited.clone(), "http://a.test/v1").unwrap(),
        )
        .provider(
            "b",
            OpenAiProvider::new(broken.clone(), "http://b.test/v1").unwrap(),
        )
        .alias("limited", Deployment::new("a", "model-a"))
        .alias("broken", Deployment::new("b", "model-b"))
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(router);
    for model in ["limited", "broken"] {
        let chat = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let req = LlmRequest::decode(Api::ChatCompletions, chat).unwrap();
        assert!(svc.clone().oneshot(req).await.is_err(), "{model}");
    }
    assert!(limited.calls() >= 1 && broken.calls() >= 1);
    let records = records(&dir, &log).await;
    let got: Vec<_> = records.iter().map(failed).collect();
    assert_eq!(
        got,
        [
            (
                "error",
                Some("upstream"),
                Some(429),
                None,
                Some("a"),
                Some("model-a")
            ),
            (
                "error",
                Some("upstream"),
                Some(500),
                None,
                Some("b"),
                Some("model-b")
            ),
        ]
    );
}

/// A provider that sends the start of a stream and then nothing: the stream ends at the idle
/// timeout, and its record says `failed` with `timeout`, with the usage seen so far.
#[tokio::test(start_paused = true)]
async fn an_llm_stream_the_provider_leaves_silent_is_recorded_as_a_timeout() {
    let (dir, log) = log("upstream-llm-idle");
    let stalling =
        FakeProvider::new().with_default(Script::text("a long answer").with_stall_after(2));
    let timeouts = Timeouts::new(Duration::from_secs(30), Duration::from_secs(5));
    let router = LlmRouter::builder()
        .provider(
            "a",
            OpenAiProvider::new(stalling.clone(), "http://a.test/v1").unwrap(),
        )
        .alias(
            "solo",
            Deployment::new("a", "model-a").with_timeouts(timeouts),
        )
        .build()
        .unwrap();
    let svc = AuditLayer::new(log.clone()).layer(router);
    let chat =
        json!({"model": "solo", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let req = LlmRequest::decode(Api::ChatCompletions, chat).unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert!(res.is_stream());
    let body = res.into_http(Dialect::OpenAi).into_body().collect().await;
    let body = String::from_utf8_lossy(&body.unwrap().to_bytes()).into_owned();
    assert!(body.contains("upstream stream timed out"), "{body}");
    let records = records(&dir, &log).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (
            records[0].outcome.as_str(),
            records[0].error_kind.as_deref()
        ),
        ("failed", Some("timeout")),
        "{:?}",
        records[0]
    );
    assert_eq!(records[0].instance.as_deref(), Some("model-a"));
    assert!(records[0].duration_ms.is_some());
}
