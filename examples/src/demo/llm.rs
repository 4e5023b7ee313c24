//! The demo LLM provider: an OpenAI-compatible endpoint, in-process, that answers every chat
//! completion and response with one fixed sentence, streamed or not.
//!
//! ```
//! use agent_gateway_examples::demo::llm::{DEMO_ANSWER, DemoProvider};
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let post = |path: &str, body: &'static str| {
//!     http::Request::post(format!("http://demo.invalid/v1{path}"))
//!         .body(Full::new(Bytes::from_static(body.as_bytes())))
//!         .unwrap()
//! };
//! let chat = post("/chat/completions", r#"{"model":"demo","messages":[]}"#);
//! let res = DemoProvider::new().oneshot(chat).await.unwrap();
//! // Allowed: a chat completion with the demo answer.
//! assert_eq!(res.status(), 200);
//! let body: serde_json::Value =
//!     serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
//! assert_eq!(body["choices"][0]["message"]["content"], DEMO_ANSWER);
//! // Refused: a path an OpenAI provider does not serve.
//! let res = DemoProvider::new().oneshot(post("/embeddings", "{}")).await.unwrap();
//! assert_eq!(res.status(), 404);
//! # });
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};
use tower::Service;

/// The text the demo provider answers with.
pub const DEMO_ANSWER: &str = "Hello from the agent-gateway demo model.";

/// The largest request body the demo reads; a larger one is answered 413.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

const CREATED: u64 = 1_700_000_000;

/// The demo provider: `Service<http::Request<Full<Bytes>>>` speaking the OpenAI Chat
/// Completions (`/chat/completions`) and Responses (`/responses`) APIs, to be wrapped in an
/// `OpenAiProvider`. It keeps nothing between requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoProvider;

impl DemoProvider {
    /// The demo provider.
    pub fn new() -> Self {
        DemoProvider
    }
}

impl Service<Request<Full<Bytes>>> for DemoProvider {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let Ok(body) = Limited::new(body, MAX_REQUEST_BYTES).collect().await else {
                return Ok(status(StatusCode::PAYLOAD_TOO_LARGE));
            };
            let req: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null);
            let model = req.get("model").and_then(Value::as_str).unwrap_or("demo");
            let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
            let path = parts.uri.path();
            let answer = if path.ends_with("/chat/completions") {
                if stream {
                    chat_stream(model)
                } else {
                    json_bytes(&chat(model))
                }
            } else if path.ends_with("/responses") {
                if stream {
                    response_stream(model)
                } else {
                    json_bytes(&response(model, true))
                }
            } else {
                return Ok(status(StatusCode::NOT_FOUND));
            };
            let mut res = Response::new(Full::new(answer));
            let kind = if stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
            Ok(res)
        })
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = code;
    res
}

fn json_bytes(v: &Value) -> Bytes {
    Bytes::from(v.to_string())
}

/// Tokens reported for every answer: a fixed, honest-looking count.
fn usage() -> Value {
    json!({"prompt_tokens": 8, "completion_tokens": 9, "total_tokens": 17})
}

fn chat(model: &str) -> Value {
    json!({
        "id": "chatcmpl-demo", "object": "chat.completion", "created": CREATED, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": DEMO_ANSWER}}],
        "usage": usage(),
    })
}

fn chat_stream(model: &str) -> Bytes {
    let chunk = |delta: Value, finish: Value, usage: Value| {
        let c = json!({
            "id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": CREATED,
            "model": model, "usage": usage,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {c}\n\n")
    };
    let mut out = chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
        Value::Null,
    );
    out += &chunk(json!({"content": DEMO_ANSWER}), Value::Null, Value::Null);
    out += &chunk(json!({}), json!("stop"), Value::Null);
    let last = json!({
        "id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": CREATED,
        "model": model, "choices": [], "usage": usage(),
    });
    out += &format!("data: {last}\n\ndata: [DONE]\n\n");
    Bytes::from(out)
}

fn response(model: &str, done: bool) -> Value {
    let output = json!([{"type": "message", "id": "msg_demo", "status": "completed",
        "role": "assistant", "content": [{"type": "output_text", "text": DEMO_ANSWER, "annotations": []}]}]);
    json!({
        "id": "resp_demo", "object": "response", "created_at": CREATED, "model": model,
        "status": if done { "completed" } else { "in_progress" },
        "output": if done { output } else { json!([]) },
        "usage": if done {
            json!({"input_tokens": 8, "output_tokens": 9, "total_tokens": 17})
        } else {
            Value::Null
        },
    })
}

fn response_stream(model: &str) -> Bytes {
    let events = [
        (
            "response.created",
            json!({"response": response(model, false)}),
        ),
        (
            "response.output_text.delta",
            json!({"item_id": "msg_demo", "output_index": 0, "content_index": 0, "delta": DEMO_ANSWER}),
        ),
        (
            "response.completed",
            json!({"response": response(model, true)}),
        ),
    ];
    let mut out = String::new();
    for (seq, (kind, mut v)) in events.into_iter().enumerate() {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(seq);
        out += &format!("event: {kind}\ndata: {v}\n\n");
    }
    Bytes::from(out)
}
