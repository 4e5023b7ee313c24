//! No upstream session is shared between callers (#13, MCP security fix): two modern clients
//! with two API keys and the same capabilities, through the auth layer, the front and a
//! federation, in front of a legacy upstream that logs on a session's GET stream on its own
//! (outside any call) when a tool is called on that session. Each caller gets its own upstream
//! session, and what one caller's session emits never reaches the other.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod listen_kit;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use agent_gateway_core::Secret;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::listen::{LISTEN, ListenFilter};
use agent_gateway_mcp::notify::{Notifier, Outgoing};
use agent_gateway_mcp::request::ClientHop;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{Era, McpFront};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tower::{ServiceBuilder, ServiceExt};

use listen_kit::{config, name, until};

const ALICE_KEY: &str = "sk-alice-0123456789";
const BOB_KEY: &str = "sk-bob-0123456789ab";

/// The upstream's sessions: how many were opened, and the GET streams open on each.
#[derive(Default)]
struct Sessions {
    opened: usize,
    streams: HashMap<String, Vec<mpsc::UnboundedSender<Bytes>>>,
}

impl Sessions {
    fn streams(&self) -> usize {
        self.streams.values().map(Vec::len).sum()
    }
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn answer(status: StatusCode, body: &Value, session: Option<&str>) -> Response<Body> {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut res = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
    *res.status_mut() = status;
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(s) = session {
        res.headers_mut()
            .insert("mcp-session-id", HeaderValue::from_str(s).unwrap());
    }
    res
}

/// A legacy upstream whose `shout` tool logs "shout on <session>" on that session's GET
/// stream, after its answer and outside the call, as servers log on their own.
fn upstream(
    state: Arc<Mutex<Sessions>>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Body>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |req: Request<Full<Bytes>>| {
        let state = state.clone();
        async move {
            let (parts, body) = req.into_parts();
            let session = parts
                .headers
                .get("mcp-session-id")
                .map(|v| v.to_str().unwrap().to_owned());
            if parts.method == http::Method::GET {
                let (tx, rx) = mpsc::unbounded_channel();
                let session = session.unwrap();
                state
                    .lock()
                    .unwrap()
                    .streams
                    .entry(session)
                    .or_default()
                    .push(tx);
                let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                    let b = rx.recv().await?;
                    Some((Ok::<_, Infallible>(Frame::data(b)), rx))
                });
                let mut res = Response::new(StreamBody::new(frames).boxed_unsync());
                res.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("text/event-stream"),
                );
                return Ok::<_, Infallible>(res);
            }
            if parts.method != http::Method::POST {
                return Ok(answer(StatusCode::OK, &Value::Null, None));
            }
            let body = body.collect().await.unwrap().to_bytes();
            let msg: Value = serde_json::from_slice(&body).unwrap();
            let id = msg["id"].clone();
            if id.is_null() {
                return Ok(answer(StatusCode::ACCEPTED, &Value::Null, None));
            }
            let result = match msg["method"].as_str().unwrap_or("") {
                "initialize" => {
                    let mut s = state.lock().unwrap();
                    let sid = format!("s{}", s.opened);
                    s.opened += 1;
                    let result = json!({"protocolVersion": "2025-11-25",
                                        "capabilities": {"tools": {}, "logging": {}},
                                        "serverInfo": {"name": "old", "version": "1"}});
                    let res = json!({"jsonrpc": "2.0", "id": id, "result": result});
                    return Ok(answer(StatusCode::OK, &res, Some(&sid)));
                }
                "tools/list" => {
                    json!({"tools": [{"name": "shout", "inputSchema": {"type": "object"}}]})
                }
                "tools/call" => {
                    let session = session.unwrap();
                    let note = json!({"jsonrpc": "2.0", "method": "notifications/message",
                                      "params": {"level": "info",
                                                 "data": format!("shout on {session}")}});
                    let frame = Bytes::from(format!("data: {note}\n\n"));
                    let s = state.lock().unwrap();
                    for tx in s.streams.get(&session).into_iter().flatten() {
                        let _ = tx.send(frame.clone());
                    }
                    json!({"content": [{"type": "text", "text": "shouted"}]})
                }
                _ => json!({}),
            };
            let res = json!({"jsonrpc": "2.0", "id": id, "result": result});
            Ok(answer(StatusCode::OK, &res, None))
        }
    })
}

/// The same capabilities for every client, and log messages from `debug` up.
fn hop() -> ClientHop {
    ClientHop::new(json!({"roots": {}}), Some("debug".into()))
}

/// A modern client of the gateway `front` with the bearer `key`.
fn client<F>(front: F, key: &str) -> HttpUpstream<F> {
    let auth = HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
    HttpUpstream::new(front, "http://gw.test/mcp".parse().unwrap())
        .with_era(Era::Modern)
        .with_authorization(Secret::new(auth))
}

/// The next log message's data on a listen.
async fn next_log(notes: &mut mpsc::Receiver<Outgoing>) -> Value {
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(600), notes.recv())
            .await
            .expect("a notification within the (virtual) timeout")
            .expect("the listen is open");
        if let Outgoing::Notification((method, params)) = next
            && method == "notifications/message"
        {
            return params["data"].clone();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn two_callers_with_the_same_capabilities_never_share_an_upstream_session() {
    let state = Arc::new(Mutex::new(Sessions::default()));
    let legacy = HttpUpstream::new(
        upstream(state.clone()),
        "http://old.test/mcp".parse().unwrap(),
    )
    .with_era(Era::Legacy);
    let federation = Federation::builder()
        .member(Member::new(name("up"), legacy))
        .build()
        .unwrap();
    let keys = ApiKeys::new()
        .with_key(Secret::new(ALICE_KEY.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB_KEY.to_owned()), Principal::new("bob"));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .service(federation);
    let front = McpFront::new(stack, config());
    let (alice, bob) = (client(front.clone(), ALICE_KEY), client(front, BOB_KEY));

    // Both listen for the upstream's own log messages.
    let mut listens = Vec::new();
    for c in [&alice, &bob] {
        let (notifier, notes) = Notifier::listen(ListenFilter::new().tools());
        let notifier = notifier.with_log_level(Some("debug"));
        let req = UpstreamRequest::new(LISTEN, ListenFilter::new().tools().to_params())
            .with_notifier(Some(notifier))
            .with_client(Some(hop()));
        let task = tokio::spawn(c.clone().oneshot(req));
        listens.push((notes, task));
    }
    until("a GET stream on each caller's upstream session", || {
        state.lock().unwrap().streams() == 2
    })
    .await;
    assert_eq!(
        state.lock().unwrap().opened,
        2,
        "one upstream session per caller"
    );

    let call = |c: &HttpUpstream<_>| {
        let params = json!({"name": "up__shout", "arguments": {}});
        let req = UpstreamRequest::new("tools/call", params.as_object().cloned().unwrap())
            .with_client(Some(hop()));
        c.clone().oneshot(req)
    };
    let shouted: Map<String, Value> = call(&alice).await.unwrap();
    assert_eq!(shouted["content"][0]["text"], "shouted");
    let (alice_notes, bob_notes) = {
        let (a, b) = listens.split_at_mut(1);
        (&mut a[0].0, &mut b[0].0)
    };
    let to_alice = next_log(alice_notes).await;
    assert!(
        to_alice.as_str().unwrap().starts_with("shout on s"),
        "{to_alice}"
    );

    // Bob's call: the first log message bob ever sees is from his own session, never alice's.
    call(&bob).await.unwrap();
    let to_bob = next_log(bob_notes).await;
    assert!(
        to_bob.as_str().unwrap().starts_with("shout on s"),
        "{to_bob}"
    );
    assert_ne!(to_bob, to_alice, "bob got alice's upstream log message");
    // Nor does alice see bob's: her next message is her own again.
    call(&alice).await.unwrap();
    assert_eq!(next_log(alice_notes).await, to_alice);
    assert_eq!(
        state.lock().unwrap().opened,
        2,
        "no more sessions than callers"
    );
}
