use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::BodyExt;

use agent_gateway_core::UsageReport;
use agent_gateway_core::response::{Failure, MeteredBody, Outcome};

use super::translate_tests::{Chunks, cut};
use super::*;
use crate::Price;
use crate::usage::Wire;

/// The relay's stack, as the providers build it.
fn relay(
    upstream: Chunks,
    wire: Wire,
    report: &UsageReport,
) -> RenderStreamError<MeteredBody<AbortOnErrorEvent<Chunks>>> {
    let metered = MeteredBody::new(
        AbortOnErrorEvent::new(upstream),
        SseMeter::new(wire, Price::FREE),
        report.clone(),
    );
    RenderStreamError::new(metered, wire)
}

/// The whole body, as text.
async fn text<B>(body: B) -> String
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let bytes = body.collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

const CHAT: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\r\n\r\n";

#[tokio::test]
async fn a_reset_mid_stream_ends_with_the_dialect_error_event() {
    let cases = [
        (
            Wire::ChatCompletions,
            CHAT,
            "data: {\"error\":{\"code\":null,\"message\":\"upstream stream failed\",\"param\":null,\"type\":\"server_error\"}}\n\n",
        ),
        (
            Wire::Messages,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
            "event: error\ndata: {\"error\":{\"message\":\"upstream stream failed\",\"type\":\"api_error\"},\"type\":\"error\"}\n\n",
        ),
        (
            Wire::Responses,
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n",
            "event: error\ndata: {\"code\":\"server_error\",\"message\":\"upstream stream failed\",\"param\":null,\"type\":\"error\"}\n\n",
        ),
    ];
    for (wire, events, error) in cases {
        for n in [1, 7, 1000] {
            // Whole events, then half an event, then a reset.
            let mut upstream = cut(&format!("{events}data: {{\"choi"), n);
            upstream.0.push_back(Err("connection reset by peer"));
            let report = UsageReport::new();
            let out = text(relay(upstream, wire, &report)).await;
            assert_eq!(out, format!("{events}{error}"), "{wire:?} cut every {n}");
            assert_eq!(
                report.usage().unwrap().1,
                Outcome::Failed(Failure::Upstream)
            );
        }
    }
    // The partial usage is kept: Anthropic's input tokens were known.
    let report = UsageReport::new();
    let mut upstream = cut(cases[1].1, 5);
    upstream.0.push_back(Err("reset"));
    relay(upstream, Wire::Messages, &report)
        .collect()
        .await
        .unwrap();
    assert_eq!(report.usage().unwrap().0.input_tokens, 12);
}

#[tokio::test]
async fn an_error_event_from_upstream_is_relayed_once_and_the_stream_reported_aborted() {
    let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"status\":\"failed\"}}\n\n";
    let openai =
        format!("{CHAT}data: {{\"error\":{{\"message\":\"boom\",\"type\":\"server_error\"}}}}\n\n");
    for (wire, stream) in [
        (Wire::Messages, anthropic.to_owned()),
        (Wire::ChatCompletions, openai),
        (Wire::Responses, failed.to_owned()),
    ] {
        for n in [3, 4096] {
            let report = UsageReport::new();
            let out = relay(cut(&stream, n), wire, &report)
                .collect()
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(
                out,
                stream.as_bytes(),
                "byte for byte, no second error event"
            );
            assert_eq!(
                report.usage().unwrap().1,
                Outcome::Failed(Failure::Upstream),
                "{wire:?}"
            );
        }
    }
    // A chunk that merely mentions "error" is not one.
    let fine = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"error\\\"\"}}],\"error\":null}\n\ndata: [DONE]\n\n";
    let report = UsageReport::new();
    let out = relay(cut(fine, 10), Wire::ChatCompletions, &report)
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(out, fine.as_bytes());
    assert_eq!(report.usage().unwrap().1, Outcome::Complete);
}

#[tokio::test]
async fn a_clean_end_relays_an_unfinished_last_event_as_it_came() {
    let mut chunks = VecDeque::new();
    chunks.push_back(Ok(Bytes::from_static(b"data: {\"a\":1}\n\ndata: tail")));
    let report = UsageReport::new();
    let out = relay(Chunks(chunks), Wire::ChatCompletions, &report)
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(out, "data: {\"a\":1}\n\ndata: tail");
    assert_eq!(report.usage().unwrap().1, Outcome::Complete);
}

const ERROR_OVERSIZED: &str = "data: {\"error\":{\"code\":null,\"message\":\"upstream sent an oversized stream event\",\"param\":null,\"type\":\"server_error\"}}\n\n";

#[tokio::test]
async fn an_oversized_event_ends_the_stream_with_the_dialect_error_event() {
    let big = format!("data: {}\n\n", "x".repeat(100));
    // Never ended (cut into pieces), or whole in one chunk: either way it is not relayed.
    for (upstream, n) in [
        (format!("{CHAT}data: {}", "x".repeat(100)), 7),
        (format!("{CHAT}{big}{CHAT}"), 4096),
    ] {
        let body = RenderStreamError::with_max_event(cut(&upstream, n), Wire::ChatCompletions, 64);
        let expected = format!("{CHAT}{ERROR_OVERSIZED}");
        assert_eq!(text(body).await, expected, "cut every {n} bytes");
    }
    // At the limit, an event passes.
    let at_limit = format!("data: {}\n\n", "x".repeat(56));
    assert_eq!(at_limit.len(), 64);
    let body = RenderStreamError::with_max_event(cut(&at_limit, 5), Wire::Messages, 64);
    assert_eq!(
        body.collect().await.unwrap().to_bytes(),
        at_limit.as_bytes()
    );
}

#[tokio::test]
async fn an_oversized_event_in_the_usage_strip_is_rendered_by_the_relay() {
    let upstream = format!("{CHAT}data: {}", "x".repeat(100));
    let strip = StripUsageChunk::with_max_event(cut(&upstream, 3), 64);
    let out = text(RenderStreamError::new(strip, Wire::ChatCompletions)).await;
    assert_eq!(out, format!("{CHAT}{ERROR_OVERSIZED}"));

    // Alone, the strip fails with the typed error.
    let mut strip = StripUsageChunk::with_max_event(cut(&upstream, 3), 64);
    let err = loop {
        match strip.frame().await {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the error"),
        }
    };
    assert_eq!(
        agent_gateway_core::error::cause_ref::<EventTooLarge>(err.as_ref()),
        Some(&EventTooLarge { max: 64 })
    );
    assert!(strip.frame().await.is_none());
}
