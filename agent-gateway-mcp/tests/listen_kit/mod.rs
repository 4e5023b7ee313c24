//! What the in-process listen tests share: fake upstreams behind a federation, waiting on the
//! virtual clock, reading a front's SSE body event by event, and raw requests of both eras.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::convert::Infallible;
use std::time::Duration;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_mcp::McpFrontConfig;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, Listening};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

pub const MODERN: &str = "2026-07-28";

pub fn name(s: &str) -> ServerName {
    ServerName::new(s).unwrap()
}

pub fn config() -> McpFrontConfig {
    McpFrontConfig::new("gw", "1").unwrap()
}

/// Two fakes, `a` owning `file:///a` and `b` owning `file:///b`, behind one federation.
pub fn two_upstreams() -> (FakeMcpServer, FakeMcpServer, Federation) {
    let a = FakeMcpServer::new()
        .with_echo_tool("t")
        .with_resource("file:///a", "A");
    let b = FakeMcpServer::new()
        .with_echo_tool("t")
        .with_resource("file:///b", "B");
    let fed = Federation::builder()
        .member(Member::new(name("a"), a.clone()))
        .member(Member::new(name("b"), b.clone()))
        .build()
        .unwrap();
    (a, b, fed)
}

/// Waits, on the virtual clock, until `cond` holds.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

/// One SSE event of a front's body: its id and its data (JSON, or `Null` when empty).
#[derive(Debug)]
pub struct Ev {
    pub id: Option<String>,
    pub data: Value,
}

pub fn parse(frame: &[u8]) -> Option<Ev> {
    let text = std::str::from_utf8(frame).unwrap();
    if text.starts_with(':') {
        return None; // a keep-alive
    }
    let mut id = None;
    let mut data = String::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    let data = if data.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&data).unwrap()
    };
    Some(Ev { id, data })
}

/// Reads a streaming body on its own task; dropping the reader drops the body.
pub struct Reader {
    pub events: mpsc::UnboundedReceiver<Ev>,
    task: tokio::task::JoinHandle<()>,
}

impl Reader {
    pub fn new<B>(body: B) -> Reader
    where
        B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Debug,
    {
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut body = body;
            while let Some(frame) = body.frame().await {
                if let Some(ev) = frame.unwrap().into_data().ok().as_deref().and_then(parse) {
                    let _ = tx.send(ev);
                }
            }
        });
        Reader { events, task }
    }

    pub async fn next(&mut self) -> Ev {
        tokio::time::timeout(Duration::from_secs(600), self.events.recv())
            .await
            .expect("an event within the (virtual) timeout")
            .expect("the stream is still open")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn listen_body(id: Value, notifications: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
           "params": {"notifications": notifications,
                      "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                "io.modelcontextprotocol/clientCapabilities": {}}}})
}

pub async fn post_listen<F: Front>(
    front: &F,
    id: Value,
    notifications: Value,
) -> http::Response<Body> {
    TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "subscriptions/listen")
        .json(&listen_body(id, notifications))
        .send_raw()
        .await
        .unwrap()
}

pub type Body = agent_gateway_mcp::front::ResponseBody;

/// A front, whatever its inner service.
pub trait Front:
    tower::Service<http::Request<Full<Bytes>>, Response = http::Response<Body>, Error = Infallible>
    + Clone
{
}

impl<T> Front for T where
    T: tower::Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<Body>,
            Error = Infallible,
        > + Clone
{
}

pub fn method(ev: &Ev) -> &str {
    ev.data["method"].as_str().unwrap_or("")
}

pub async fn initialize<F: Front>(front: &F) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "t", "version": "1"}}});
    let res = TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    res.header("mcp-session-id").unwrap().to_owned()
}

pub async fn get_stream<F: Front>(front: &F, session: Option<&str>) -> http::Response<Body> {
    let mut req = TestClient::new(front.clone())
        .get("/mcp")
        .header("accept", "text/event-stream");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send_raw().await.unwrap()
}

pub async fn legacy_post<F: Front>(front: &F, session: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params});
    TestClient::new(front.clone())
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .json()
}

pub async fn next_note(l: &mut Listening) -> (String, Map<String, Value>) {
    tokio::time::timeout(Duration::from_secs(600), l.next())
        .await
        .expect("a notification within the (virtual) timeout")
        .expect("the listen is still open")
}
