//! The load harness's mock upstream: plain hyper, canned answers, as fast as it can be.
//!
//! `load-mock ADDR` serves, until killed:
//! - `POST /v1/chat/completions`: an OpenAI chat completion; with `"stream":true` in the body,
//!   20 content chunks, a usage chunk and `[DONE]` as SSE;
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
use std::sync::OnceLock;

use agent_gateway_benches::load::{Answer, answer, bind, serve_http1};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
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

/// Answers one request by its path.
async fn route(req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_owned();
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return answer(StatusCode::BAD_REQUEST, "text/plain", Bytes::new());
    };
    match path.as_str() {
        "/v1/chat/completions" if memchr(&body, b"\"stream\":true") => {
            let stream = STREAM.get_or_init(chat_stream).clone();
            answer(StatusCode::OK, "text/event-stream", stream)
        }
        "/v1/chat/completions" => answer(StatusCode::OK, "application/json", chat_json()),
        "/v1/messages" => answer(StatusCode::OK, "application/json", anthropic_json()),
        "/mcp" => mcp(&body),
        _ => answer(StatusCode::NOT_FOUND, "text/plain", Bytes::new()),
    }
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
