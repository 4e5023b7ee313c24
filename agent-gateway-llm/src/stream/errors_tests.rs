use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::BodyExt;

use agent_gateway_core::UsageReport;
use agent_gateway_core::response::{MeteredBody, Outcome};

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
            let out = relay(upstream, wire, &report)
                .collect()
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                format!("{events}{error}"),
                "{wire:?} cut every {n}"
            );
            assert_eq!(report.usage().unwrap().1, Outcome::Aborted);
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
            assert_eq!(report.usage().unwrap().1, Outcome::Aborted, "{wire:?}");
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
