//! A send through the whole A2A front (decode, route with sealing, encode) to an in-process
//! agent, against calling that agent's connector directly with the same JSON-RPC body.

#![allow(
    clippy::unwrap_used,
    missing_docs,
    reason = "bench setup, not a request path"
)]

use std::hint::black_box;

use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig};
use agent_gateway_core::Secret;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

const SEND: &str = r#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"plan a trip to Lisbon"}]}}}"#;

fn request(uri: &str) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("content-type", "application/json")
        .header("a2a-version", "1.0")
        .body(Full::new(Bytes::from_static(SEND.as_bytes())))
        .unwrap()
}

fn send(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = FakeAgent::new("echo");
    let agents = AgentRegistry::builder()
        .agent(
            Agent::new("echo")
                .unwrap()
                .instance(
                    "i1",
                    "http://echo.internal/",
                    Version::V1_0,
                    fake.connector(),
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let front = A2aFront::new(
        A2aRouter::new(agents, Sealer::new(Secret::new(vec![9; 32])).unwrap()),
        A2aFrontConfig::new("https://gw.example.com").unwrap(),
    );
    let direct = fake.connector();

    let mut g = c.benchmark_group("a2a/send");
    g.bench_function("baseline_agent_direct", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = direct
                    .clone()
                    .oneshot(request("http://echo.internal/"))
                    .await
                    .unwrap();
                black_box(res.into_body().collect().await.unwrap().to_bytes())
            })
        })
    });
    g.bench_function("through_front", |b| {
        b.iter(|| {
            rt.block_on(async {
                let res = front.clone().oneshot(request("/echo")).await.unwrap();
                black_box(res.into_body().collect().await.unwrap().to_bytes())
            })
        })
    });
    g.finish();
}

criterion_group!(benches, send);
criterion_main!(benches);
