//! The PII guard's scan, in MB/s: a whole 4 KB body (clean, and with PII in it), the same text
//! streamed through the filter in small pieces, and a Chat Completions SSE stream through the
//! LLM response's filter against the same stream relayed bare.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;

use agent_gateway_core::UsageReport;
use agent_gateway_core::content::TextFilter;
use agent_gateway_core::response::AgentResponse;
use agent_gateway_llm::{Dialect, LlmBody, LlmResponse};
use agent_gateway_policy::guard::pii::PiiGuard;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

const PROSE: &str = "The quarterly report shows steady growth across all regions, with the \
northern office leading on new accounts and the support team closing most tickets within a \
day. Next steps are listed below, with owners and dates for each item. ";

const PII: &str = "Reach ann.lee@example.com or +1 415 555 0132, card 4111 1111 1111 1111, \
IBAN DE89 3704 0044 0532 0130 00, host 10.0.0.1, key sk-proj-abcdefghijklmnopqrstuvwx. ";

/// About 4 KB of `PROSE`, with `extra` after every third paragraph.
fn body(extra: &str) -> String {
    let mut text = String::new();
    let mut n = 0;
    while text.len() < 4096 {
        text.push_str(PROSE);
        n += 1;
        if n % 3 == 0 {
            text.push_str(extra);
        }
    }
    text
}

/// `text` as a Chat Completions stream of deltas of about `piece` bytes.
fn chat_stream(text: &str, piece: usize) -> Bytes {
    let mut sse = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = piece.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": &rest[..cut]}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
        rest = &rest[cut..];
    }
    sse.push_str("data: [DONE]\n\n");
    Bytes::from(sse)
}

fn pii(c: &mut Criterion) {
    let guard = PiiGuard::default();
    let clean = body("");
    let mixed = body(PII);
    assert!(
        guard
            .redact(&mixed)
            .unwrap()
            .contains("[REDACTED:payment_card]")
    );

    let mut g = c.benchmark_group("pii");
    g.throughput(Throughput::Bytes(clean.len() as u64));
    g.bench_function("redact_4k_clean", |b| {
        b.iter(|| black_box(guard.redact(black_box(&clean)).unwrap()))
    });
    g.throughput(Throughput::Bytes(mixed.len() as u64));
    g.bench_function("redact_4k_with_pii", |b| {
        b.iter(|| black_box(guard.redact(black_box(&mixed)).unwrap()))
    });
    // An LLM streams a few characters per event: 8-byte pieces.
    g.bench_function("filter_4k_with_pii_in_8_byte_pieces", |b| {
        b.iter(|| {
            let mut filter = guard.filter();
            let mut out = String::with_capacity(mixed.len());
            for piece in mixed.as_bytes().chunks(8) {
                filter
                    .push(std::str::from_utf8(piece).unwrap(), &mut out)
                    .unwrap();
            }
            filter.finish(&mut out).unwrap();
            black_box(out)
        })
    });

    let sse = chat_stream(&mixed, 8);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let relay = |filtered: bool| {
        let mut res = LlmResponse::stream(
            StatusCode::OK,
            HeaderMap::new(),
            LlmBody::stream(http_body_util::Full::new(sse.clone())),
            UsageReport::new(),
        );
        if filtered {
            res.filter_text(Box::new(guard.filter())).unwrap();
        }
        rt.block_on(async {
            res.into_http(Dialect::OpenAi)
                .into_body()
                .collect()
                .await
                .unwrap()
        })
    };
    g.throughput(Throughput::Bytes(sse.len() as u64));
    g.bench_function("chat_stream_bare", |b| b.iter(|| black_box(relay(false))));
    g.bench_function("chat_stream_filtered", |b| {
        b.iter(|| black_box(relay(true)))
    });
    g.finish();
}

criterion_group!(benches, pii);
criterion_main!(benches);
