use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use agent_gateway_core::UsageReport;
use agent_gateway_core::response::{MeteredBody, Outcome};

use super::strip::split_events;
use super::*;
use crate::Price;
use crate::usage::Wire;

struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// The stream cut into pieces of `n` bytes.
fn cut(s: &str, n: usize) -> Chunks {
    Chunks(s.as_bytes().chunks(n).map(Bytes::copy_from_slice).collect())
}

const CHAT: &str = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\r\n\r\n\
data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"héllo\"},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n\
: keep-alive\n\n\
data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\":5}}}\n\n\
data: [DONE]\n\n";

#[test]
fn events_split_on_every_kind_of_blank_line() {
    let events = split_events(b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\n");
    assert_eq!(
        events,
        [
            b"data: a\r\n\r\n".to_vec(),
            b"data: b\n\n".to_vec(),
            b"data: c\r\r".to_vec()
        ]
    );
    // A CR at the end might be the first half of a CRLF: wait.
    assert!(split_events(b"data: a\r\n\r").is_empty());
}

#[tokio::test]
async fn strip_removes_only_the_usage_chunk_however_the_stream_is_cut() {
    let expected = CHAT.replace(
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\":5}}}\n\n",
        "",
    );
    for n in [1, 2, 7, 64, 4096] {
        let report = UsageReport::new();
        let meter = SseMeter::new(
            Wire::ChatCompletions,
            Price::per_million(1.0, 10.0).with_cached_per_million(0.5),
        );
        let body = StripUsageChunk::new(MeteredBody::new(cut(CHAT, n), meter, report.clone()));
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            expected,
            "cut every {n} bytes"
        );
        let (usage, outcome) = report.usage().unwrap();
        assert_eq!(outcome, Outcome::Complete);
        assert_eq!(
            (
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens
            ),
            (11, 5, 3)
        );
        assert_eq!(
            usage.cost.unwrap().nano_usd(),
            6 * 1_000 + 5 * 500 + 3 * 10_000
        );
    }
}

#[tokio::test]
async fn unstripped_relay_is_byte_identical() {
    let report = UsageReport::new();
    let meter = SseMeter::new(Wire::ChatCompletions, Price::FREE);
    let out = MeteredBody::new(cut(CHAT, 3), meter, report.clone())
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(out, CHAT.as_bytes());
    assert_eq!(report.usage().unwrap().0.total_tokens(), 14);
}

#[tokio::test]
async fn anthropic_usage_merges_start_and_delta() {
    let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_read_input_tokens\":3}}}\n\n\
event: ping\ndata: {\"type\":\"ping\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":6}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let report = UsageReport::new();
    let body = MeteredBody::new(
        cut(stream, 5),
        SseMeter::new(Wire::Messages, Price::FREE),
        report.clone(),
    );
    assert_eq!(body.collect().await.unwrap().to_bytes(), stream.as_bytes());
    let (usage, _) = report.usage().unwrap();
    assert_eq!(
        (
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens
        ),
        (15, 3, 6)
    );
}

#[tokio::test]
async fn responses_usage_from_completed_and_aborted_stream_reports_partial() {
    let stream = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"usage\":null}}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":9,\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":4,\"total_tokens\":13}}}\n\n";
    let report = UsageReport::new();
    let body = MeteredBody::new(
        cut(stream, 9),
        SseMeter::new(Wire::Responses, Price::FREE),
        report.clone(),
    );
    body.collect().await.unwrap();
    assert_eq!(report.usage().unwrap().0.total_tokens(), 13);

    // Dropped after the first event: aborted, no tokens known.
    let report = UsageReport::new();
    let mut body = Box::pin(MeteredBody::new(
        cut(stream, 200),
        SseMeter::new(Wire::Responses, Price::FREE),
        report.clone(),
    ));
    body.frame().await.unwrap().unwrap();
    drop(body);
    let (usage, outcome) = report.usage().unwrap();
    assert_eq!((usage.total_tokens(), outcome), (0, Outcome::Aborted));
}
