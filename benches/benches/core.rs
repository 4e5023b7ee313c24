//! Core pieces per call, each against a bare baseline in the same run.
//!
//! - `jsonrpc/decode`: `Message::from_slice` against `serde_json::from_slice::<Value>`.
//! - `jsonrpc/encode`: `Message::to_vec` against `serde_json::to_vec(&Value)`.
//! - `sse/decode`: the push decoder against a bare scan for event boundaries.
//! - `store/take`: a GCRA take on the in-memory store against a bare atomic increment.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agent_gateway_benches::poll_ready;
use agent_gateway_core::jsonrpc::Message;
use agent_gateway_core::sse::{Decoder, Event};
use agent_gateway_core::store::{CounterStore, MemoryStore, Rate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

const CALL: &[u8] = br#"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"github__search_issues","arguments":{"query":"is:open label:bug","limit":20,"fields":["title","url","labels"]},"_meta":{"progressToken":"p-1"}}}"#;

fn jsonrpc(c: &mut Criterion) {
    let mut g = c.benchmark_group("jsonrpc/decode");
    g.throughput(Throughput::Bytes(CALL.len() as u64));
    g.bench_function("baseline_serde_value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(CALL)).unwrap()))
    });
    g.bench_function("message_from_slice", |b| {
        b.iter(|| black_box(Message::from_slice(black_box(CALL)).unwrap()))
    });
    g.finish();

    let value: Value = serde_json::from_slice(CALL).unwrap();
    let message = Message::from_slice(CALL).unwrap();
    let mut g = c.benchmark_group("jsonrpc/encode");
    g.bench_function("baseline_serde_value", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&value)).unwrap()))
    });
    g.bench_function("message_to_vec", |b| {
        b.iter(|| black_box(black_box(&message).to_vec()))
    });
    g.finish();
}

fn sse_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..20 {
        let data = format!(
            r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":"token {i} "}}}}]}}"#
        );
        out.extend_from_slice(&Event::new(data).to_bytes().unwrap());
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

fn sse(c: &mut Criterion) {
    let stream = sse_stream();
    // Chunks as a network would cut them: not on event boundaries.
    let chunks: Vec<&[u8]> = stream.chunks(97).collect();
    let mut g = c.benchmark_group("sse/decode");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("baseline_boundary_scan", |b| {
        b.iter(|| {
            let mut events = 0usize;
            let mut prev = 0u8;
            for chunk in &chunks {
                for &byte in *chunk {
                    if byte == b'\n' && prev == b'\n' {
                        events += 1;
                    }
                    prev = byte;
                }
            }
            black_box(events)
        })
    });
    g.bench_function("decoder_feed", |b| {
        let mut out = Vec::with_capacity(32);
        b.iter(|| {
            let mut decoder = Decoder::new();
            out.clear();
            for chunk in &chunks {
                decoder.feed(chunk, &mut out).unwrap();
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn store(c: &mut Criterion) {
    let mut g = c.benchmark_group("store/take");
    let counter = AtomicU64::new(0);
    g.bench_function("baseline_atomic_add", |b| {
        b.iter(|| poll_ready(async { black_box(counter.fetch_add(1, Ordering::Relaxed)) }))
    });
    let store = MemoryStore::new();
    // A rate high enough that takes are always allowed: the cost measured is the decision.
    let rate = Rate::new(
        NonZeroU64::new(u64::MAX / 4).unwrap(),
        Duration::from_secs(1),
    );
    g.bench_function("memory_store_take", |b| {
        b.iter(|| black_box(poll_ready(store.take(black_box("caller:alice"), 1, rate)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, jsonrpc, sse, store);
criterion_main!(benches);
