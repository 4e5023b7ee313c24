//! The load harness's mock upstream: plain hyper, canned answers, as fast as it can be.
//!
//! `load-mock ADDR` serves, until killed:
//! - `POST /v1/chat/completions`: an OpenAI chat completion; with `"stream":true` in the body,
//!   20 content chunks, a usage chunk and `[DONE]` as SSE; with `"hold":true` as well, the
//!   first chunk, then the stream stays open until the client goes (for `load-open streams`);
//! - `POST /v1/messages`: an Anthropic message;
//! - `POST /mcp`: MCP over Streamable HTTP, both eras (`initialize`, `server/discover`,
//!   `tools/list` with one `echo` tool, `tools/call`; notifications get 202).
//!
//! It prints `listening on ADDR` once bound (port 0 picks one), for the `benches/load/run`
//! script to read.

#![allow(
    clippy::print_stdout,
    reason = "a command-line helper: its bound address goes to stdout"
)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use agent_gateway_benches::load::{Answer, answer, bind, serve_http1};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Frame, Incoming};
use serde_json::{Value, json};

/// The number of content chunks in a streamed chat answer (the issue's "20 chunks").
const STREAM_CHUNKS: usize = 20;

/// The streamed chat answer, built once: the mock should cost as little as it can.
static STREAM: OnceLock<Bytes> = OnceLock::new();

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = bind().await?;
    println!("listening on {}", listener.local_addr()?);
    serve_http1(listener, |req| async move {
        Ok::<_, Infallible>(route(req).await)
    })
    .await
}

/// A canned answer, or a held stream.
type Reply = Response<Either<Full<Bytes>, Held>>;

/// Answers one request by its path: a held stream, or a canned answer.
async fn route(req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return answer(StatusCode::BAD_REQUEST, "text/plain", Bytes::new()).map(Either::Left);
    };
    if path == "/v1/chat/completions" && memchr(&body, b"\"hold\":true") {
        let first = first_event(STREAM.get_or_init(chat_stream));
        let held = answer(StatusCode::OK, "text/event-stream", Bytes::new());
        return held.map(|_| Either::Right(Held(Some(first))));
    }
    canned(&path, &body).map(Either::Left)
}

/// The canned answer for `path`.
fn canned(path: &str, body: &[u8]) -> Answer {
    match path {
        "/v1/chat/completions" if memchr(body, b"\"stream\":true") => {
            let stream = STREAM.get_or_init(chat_stream).clone();
            answer(StatusCode::OK, "text/event-stream", stream)
        }
        "/v1/chat/completions" => answer(StatusCode::OK, "application/json", chat_json()),
        "/v1/messages" => answer(StatusCode::OK, "application/json", anthropic_json()),
        "/mcp" => mcp(body),
        _ => answer(StatusCode::NOT_FOUND, "text/plain", Bytes::new()),
    }
}

/// A stream that sends its first event, then stays open, sending nothing, until dropped.
struct Held(Option<Bytes>);

impl Body for Held {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(first) => Poll::Ready(Some(Ok(Frame::data(first)))),
            // Never woken: the connection's end drops the body.
            None => Poll::Pending,
        }
    }
}

/// The first event of `stream`.
fn first_event(stream: &Bytes) -> Bytes {
    let end = stream
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(stream.len(), |i| i + 2);
    stream.slice(..end)
}

fn memchr(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn chat_json() -> Bytes {
    Bytes::from_static(
        br#"{"id":"chatcmpl-load","object":"chat.completion","created":1700000000,"model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the mock upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#,
    )
}

fn chat_stream() -> Bytes {
    let mut out = String::new();
    for i in 0..STREAM_CHUNKS {
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-load\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock-1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i} \"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push_str("data: {\"id\":\"chatcmpl-load\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    out.push_str("data: {\"id\":\"chatcmpl-load\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"mock-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":20,\"total_tokens\":32}}\n\n");
    out.push_str("data: [DONE]\n\n");
    Bytes::from(out)
}

fn anthropic_json() -> Bytes {
    Bytes::from_static(
        br#"{"id":"msg_load","type":"message","role":"assistant","model":"mock-1","content":[{"type":"text","text":"Hello from the mock upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":7}}"#,
    )
}

/// One MCP message, either era.
fn mcp(body: &[u8]) -> Answer {
    let Ok(msg) = serde_json::from_slice::<Value>(body) else {
        return answer(StatusCode::BAD_REQUEST, "text/plain", Bytes::new());
    };
    let Some(id) = msg.get("id").cloned() else {
        return answer(StatusCode::ACCEPTED, "text/plain", Bytes::new());
    };
    let server_info = json!({"name": "load-mock", "version": "1.0.0"});
    let result = match msg
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "initialize" => json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}},
            "serverInfo": server_info,
        }),
        "server/discover" => json!({
            "resultType": "complete",
            "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}},
            "serverInfo": server_info,
        }),
        "tools/list" => json!({
            "resultType": "complete",
            "tools": [{"name": "echo", "description": "Echoes.", "inputSchema": {"type": "object"}}],
        }),
        "tools/call" => json!({
            "resultType": "complete",
            "content": [{"type": "text", "text": "echo"}],
        }),
        "ping" => json!({"resultType": "complete"}),
        _ => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}});
            return answer(
                StatusCode::NOT_FOUND,
                "application/json",
                Bytes::from(error.to_string()),
            );
        }
    };
    let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
    answer(
        StatusCode::OK,
        "application/json",
        Bytes::from(reply.to_string()),
    )
}
