//! The stream relay stays bounded against a hostile provider (finding 11): an event that never
//! ends, many MiB long, is cut at the SSE decoder's limit and the client gets its dialect's
//! error event, in every dialect, translated or not; the relay stops reading upstream.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use agent_gateway_core::sse::Decoder;
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider, ProviderRequest};
use agent_gateway_llm::{Api, Dialect, LlmRequest};
use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::ServiceExt;

/// The size of each chunk the hostile provider sends.
const CHUNK: usize = 64 * 1024;

/// A stream whose first event starts and never ends: `data: xxxx…` forever, with no newline.
/// Counts the chunks it was polled for.
struct Endless {
    sent: Arc<AtomicUsize>,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let n = self.sent.fetch_add(1, Ordering::SeqCst);
        let chunk = if n == 0 {
            let mut first = b"data: ".to_vec();
            first.resize(CHUNK, b'x');
            Bytes::from(first)
        } else {
            Bytes::from(vec![b'x'; CHUNK])
        };
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}

fn hostile(
    sent: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Endless>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Endless>, Infallible>>,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let res = Response::builder()
            .header("content-type", "text/event-stream")
            .body(Endless { sent: sent.clone() })
            .unwrap();
        std::future::ready(Ok(res))
    })
}

#[tokio::test]
async fn an_endless_event_is_cut_at_the_limit_with_the_dialect_error_event() {
    let chat =
        json!({"model": "a", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let messages = json!({"model": "a", "stream": true, "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]});
    let responses = json!({"model": "a", "stream": true, "input": "hi"});
    // (provider, client API, body, Responses served by the provider, what the client sees)
    let cases = [
        (
            "openai",
            Api::ChatCompletions,
            &chat,
            true,
            "data: {\"error\":",
        ),
        ("openai", Api::Messages, &messages, true, "event: error\n"),
        ("openai", Api::Responses, &responses, true, "event: error\n"),
        (
            "openai",
            Api::Responses,
            &responses,
            false,
            "event: error\n",
        ),
        (
            "anthropic",
            Api::Messages,
            &messages,
            true,
            "event: error\n",
        ),
        (
            "anthropic",
            Api::ChatCompletions,
            &chat,
            true,
            "data: {\"error\":",
        ),
    ];
    // The decoder's limit, in chunks, plus the one that crossed it and one of slack.
    let most_chunks = Decoder::DEFAULT_MAX_EVENT_SIZE / CHUNK + 2;
    for (provider, api, body, responses_api, error) in cases {
        let sent = Arc::new(AtomicUsize::new(0));
        let req = ProviderRequest::new(LlmRequest::decode(api, body.clone()).unwrap(), "up");
        let res = match provider {
            "openai" => OpenAiProvider::new(hostile(sent.clone()), "http://up/v1")
                .unwrap()
                .with_responses_api(responses_api)
                .oneshot(req)
                .await
                .unwrap(),
            _ => AnthropicProvider::new(hostile(sent.clone()), "http://up")
                .unwrap()
                .oneshot(req)
                .await
                .unwrap(),
        };
        let dialect = if api == Api::Messages {
            Dialect::Anthropic
        } else {
            Dialect::OpenAi
        };
        // The body ends (an endless upstream cannot hang it) and is small.
        let out = res.into_http(dialect).into_body().collect().await.unwrap();
        let out = String::from_utf8(out.to_bytes().to_vec()).unwrap();
        let case = format!("{provider} {api:?} responses_api={responses_api}");
        assert!(out.len() < 4096, "{case}: {} bytes relayed", out.len());
        assert!(out.contains(error), "{case}: {out}");
        assert!(!out.contains("xxxx"), "{case}: the oversized event leaked");
        let sent = sent.load(Ordering::SeqCst);
        assert!(
            sent <= most_chunks,
            "{case}: read {sent} chunks of {CHUNK} bytes"
        );
    }
}
