//! A chat completion through the LLM front (decode, route, provider, metering, encode) against
//! calling the in-process provider directly with the same HTTP request, streaming and not, and
//! with a long conversation where copies of the request body show.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;

use agent_gateway_llm::LlmFront;
use agent_gateway_llm::provider::OpenAiProvider;
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::FakeProvider;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::{Service, ServiceExt};

/// Turns in the long conversation of the `chat_long_json` group: a request of about 100 KB,
/// where copies of the body show.
const LONG_TURNS: usize = 200;

fn request(stream: bool, turns: usize) -> http::Request<Full<Bytes>> {
    let mut messages = vec![json!({"role": "system", "content": "You are terse."})];
    for i in 0..turns {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push(json!({"role": role, "content": "lorem ipsum dolor sit amet ".repeat(20)}));
    }
    messages.push(json!({"role": "user", "content": "Say hello in five words."}));
    let body = json!({"model": "fast", "stream": stream, "messages": messages});
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn run<S, B>(rt: &tokio::runtime::Runtime, svc: &S, stream: bool, turns: usize) -> usize
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    rt.block_on(async {
        let res = svc.clone().oneshot(request(stream, turns)).await.unwrap();
        res.into_body().collect().await.unwrap().to_bytes().len()
    })
}

fn llm(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let provider = FakeProvider::new();
    let router = LlmRouter::builder()
        .provider(
            "oai",
            OpenAiProvider::new(provider.clone(), "http://oai.test/v1").unwrap(),
        )
        .alias("fast", Deployment::new("oai", "gpt-up"))
        .build()
        .unwrap();
    let front = LlmFront::new(router);
    for (name, stream, turns) in [
        ("json", false, 0),
        ("stream", true, 0),
        ("long_json", false, LONG_TURNS),
    ] {
        let mut g = c.benchmark_group(format!("llm/chat_{name}"));
        g.bench_function("baseline_provider_direct", |b| {
            b.iter(|| black_box(run(&rt, &provider, stream, turns)))
        });
        g.bench_function("through_front", |b| {
            b.iter(|| black_box(run(&rt, &front, stream, turns)))
        });
        g.finish();
    }
}

criterion_group!(benches, llm);
criterion_main!(benches);
