//! Notification streams through the gateway, in-process: modern `subscriptions/listen` and the
//! legacy GET stream with `resources/subscribe`, from fake upstreams merged by a federation,
//! upstreams reached in-process and over HTTP in both eras.
//!
//! Time is paused: waiting for an upstream listen to open sleeps on tokio's virtual clock.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::convert::Infallible;
use std::time::Duration;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentRequest, BoxError, Denied};
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::federation::{Federation, Member};
use agent_gateway_mcp::listen::{ListenFilter, META_SUBSCRIPTION_ID};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::testkit::{FakeMcpServer, Listening, McpClient};
use agent_gateway_mcp::upstream::{Direct, UpstreamRequest};
use agent_gateway_mcp::{Era, FrontConfig, McpFront, McpRequest, McpResponse};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

const MODERN: &str = "2026-07-28";

fn name(s: &str) -> ServerName {
    ServerName::new(s).unwrap()
}

fn config() -> FrontConfig {
    FrontConfig::new("gw", "1").unwrap()
}

/// Two fakes, `a` owning `file:///a` and `b` owning `file:///b`, behind one federation.
fn two_upstreams() -> (FakeMcpServer, FakeMcpServer, Federation) {
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
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
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
struct Ev {
    id: Option<String>,
    data: Value,
}

fn parse(frame: &[u8]) -> Option<Ev> {
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
struct Reader {
    events: mpsc::UnboundedReceiver<Ev>,
    task: tokio::task::JoinHandle<()>,
}

impl Reader {
    fn new<B>(body: B) -> Reader
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

    async fn next(&mut self) -> Ev {
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

fn listen_body(id: Value, notifications: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
           "params": {"notifications": notifications,
                      "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                "io.modelcontextprotocol/clientCapabilities": {}}}})
}

async fn post_listen<F: Front>(front: &F, id: Value, notifications: Value) -> http::Response<Body> {
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

type Body = agent_gateway_mcp::front::ResponseBody;

/// A front, whatever its inner service.
trait Front:
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

fn method(ev: &Ev) -> &str {
    ev.data["method"].as_str().unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn modern_listen_acks_first_then_only_what_was_asked_tagged_and_in_client_names() {
    let (a, b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let res = post_listen(
        &front,
        json!("L1"),
        json!({"toolsListChanged": true,
               "resourceSubscriptions": ["a+file:///a", "nobody+file:///x"]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Reader::new(res.into_body());

    // The acknowledgment comes first: what was asked, less the URI no upstream owns.
    let ack = events.next().await;
    assert_eq!(method(&ack), "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack.data["params"],
        json!({"notifications": {"toolsListChanged": true,
                                 "resourceSubscriptions": ["a+file:///a"]},
               "_meta": {META_SUBSCRIPTION_ID: "L1"}})
    );
    assert_eq!(ack.id, None, "no event ids on a modern stream");

    // One listen per upstream, each asking for its own part only.
    until("both upstream listens", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    b.notify_tools_changed();
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/tools/list_changed");
    assert_eq!(ev.data["params"]["_meta"][META_SUBSCRIPTION_ID], "L1");

    // Not asked for: prompts, the resource list, a URI not subscribed. Then one that was.
    a.notify_prompts_changed();
    a.notify_resources_changed();
    a.notify_resource_updated("file:///other");
    b.notify_resource_updated("file:///b");
    a.notify_resource_updated("file:///a");
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/resources/updated");
    assert_eq!(
        ev.data["params"],
        json!({"uri": "a+file:///a", "_meta": {META_SUBSCRIPTION_ID: "L1"}})
    );
    a.notify_tools_changed();
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );

    // The client leaves: every upstream listen goes with it.
    drop(events);
    until("the upstream listens to close", || {
        a.listeners() == 0 && b.listeners() == 0
    })
    .await;
    assert_eq!(a.calls_of("subscriptions/listen"), 1);
}

#[tokio::test(start_paused = true)]
async fn the_front_acknowledges_when_the_inner_service_does_not_and_never_widens_the_filter() {
    // An inner service that sends a change at once, with no acknowledgment, and a kind that
    // was not asked for, then ends.
    let inner = tower::service_fn(|req: McpRequest| async move {
        let notifier = req
            .extensions()
            .get::<agent_gateway_mcp::notify::Notifier>()
            .cloned()
            .unwrap();
        notifier
            .notify("notifications/prompts/list_changed", Map::new())
            .await;
        notifier
            .notify("notifications/tools/list_changed", Map::new())
            .await;
        Ok::<_, BoxError>(McpResponse::for_method(req.method(), json!({})))
    });
    let front = McpFront::new(inner, config());
    let res = post_listen(&front, json!(7), json!({"toolsListChanged": true})).await;
    let mut events = Reader::new(res.into_body());
    let ack = events.next().await;
    assert_eq!(method(&ack), "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack.data["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    assert_eq!(ack.data["params"]["_meta"][META_SUBSCRIPTION_ID], 7);
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );
    // The inner call ended: the graceful close is the listen's response, tagged.
    let end = events.next().await;
    assert_eq!(end.data["id"], 7);
    assert_eq!(end.data["result"]["resultType"], "complete");
    assert_eq!(end.data["result"]["_meta"][META_SUBSCRIPTION_ID], 7);
}

#[tokio::test(start_paused = true)]
async fn a_denied_listen_is_a_plain_error_in_both_eras() {
    let inner = tower::service_fn(|req: McpRequest| async move {
        if req.method() == "subscriptions/listen" {
            return Err(BoxError::from(Denied::forbidden("no listening")));
        }
        Ok(McpResponse::for_method(req.method(), json!({})))
    });
    let front = McpFront::new(inner, config());
    let res = post_listen(&front, json!(1), json!({"toolsListChanged": true})).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], -32003);

    let session = initialize(&front).await;
    let res = get_stream(&front, Some(&session)).await;
    assert_eq!(res.status(), 403);
}

async fn initialize<F: Front>(front: &F) -> String {
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

async fn get_stream<F: Front>(front: &F, session: Option<&str>) -> http::Response<Body> {
    let mut req = TestClient::new(front.clone())
        .get("/mcp")
        .header("accept", "text/event-stream");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send_raw().await.unwrap()
}

async fn legacy_post<F: Front>(front: &F, session: &str, method: &str, params: Value) -> Value {
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

#[tokio::test(start_paused = true)]
async fn legacy_get_stream_primes_then_carries_list_changes_and_subscribed_updates() {
    let (a, b, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let session = initialize(&front).await;
    let res = get_stream(&front, Some(&session)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Reader::new(res.into_body());
    let priming = events.next().await;
    assert!(priming.id.is_some());
    assert_eq!(priming.data, Value::Null, "a priming event has empty data");

    until("both upstream listens", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    b.notify_prompts_changed();
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/prompts/list_changed");
    assert!(
        ev.id.is_some() && ev.id != priming.id,
        "every event has its own id"
    );
    assert_eq!(
        ev.data["params"].get("_meta"),
        None,
        "no subscription id on legacy"
    );

    // Not subscribed yet: no update. Then subscribed: the GET's listen is opened anew.
    a.notify_resource_updated("file:///a");
    let ok = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}), "{ok}");
    until("the listen with the URI", || {
        a.calls_of("subscriptions/listen") == 2 && a.listeners() == 1
    })
    .await;
    a.notify_resource_updated("file:///a");
    let ev = events.next().await;
    assert_eq!(method(&ev), "notifications/resources/updated");
    assert_eq!(ev.data["params"], json!({"uri": "a+file:///a"}));

    // A URI no upstream owns is refused, and recorded nowhere.
    let refused = legacy_post(
        &front,
        &session,
        "resources/subscribe",
        json!({"uri": "zz+file:///a"}),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let calls = a.calls_of("subscriptions/listen");

    let ok = legacy_post(
        &front,
        &session,
        "resources/unsubscribe",
        json!({"uri": "a+file:///a"}),
    )
    .await;
    assert_eq!(ok["result"], json!({}));
    until("the listen without the URI", || {
        a.calls_of("subscriptions/listen") == calls + 1 && a.listeners() == 1
    })
    .await;
    a.notify_resource_updated("file:///a");
    a.notify_tools_changed();
    assert_eq!(
        method(&events.next().await),
        "notifications/tools/list_changed"
    );

    // A second GET stream on the session takes over: the first ends, nothing is doubled.
    let res = get_stream(&front, Some(&session)).await;
    let mut second = Reader::new(res.into_body());
    assert_eq!(second.next().await.data, Value::Null);
    assert!(
        events.events.recv().await.is_none(),
        "the first stream ended"
    );
    until("one listen per upstream", || {
        a.listeners() == 1 && b.listeners() == 1
    })
    .await;
    drop(events);

    // Deleting the session ends its GET stream, and the listens under it.
    let deleted = TestClient::new(front.clone())
        .delete("/mcp")
        .header("mcp-session-id", &session)
        .send()
        .await;
    assert_eq!(deleted.status(), 200);
    assert!(second.events.recv().await.is_none(), "the stream ended");
    until("the upstream listens to close", || {
        a.listeners() == 0 && b.listeners() == 0
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn get_streams_need_a_valid_session_and_the_legacy_era() {
    let (_, _, fed) = two_upstreams();
    let front = McpFront::new(fed.clone(), config());
    assert_eq!(get_stream(&front, None).await.status(), 400);
    assert_eq!(get_stream(&front, Some("forged")).await.status(), 404);
    let session = initialize(&front).await;
    let res = TestClient::new(front.clone())
        .get("/mcp")
        .header("accept", "application/json")
        .header("mcp-session-id", &session)
        .send()
        .await;
    assert_eq!(res.status(), 406);
    let modern_only = McpFront::new(fed, config().with_legacy(false));
    let res = get_stream(&modern_only, Some(&session)).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");

    // Each era's methods only: a legacy client cannot listen, a modern one cannot subscribe.
    let listen = legacy_post(
        &front,
        &session,
        "subscriptions/listen",
        json!({"notifications": {}}),
    )
    .await;
    assert_eq!(listen["error"]["code"], -32601);
    let client = McpClient::modern(front.clone());
    let err = client
        .request("resources/subscribe", json!({"uri": "a+file:///a"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(-32601));
}

#[tokio::test(start_paused = true)]
async fn discovery_and_initialize_advertise_what_the_streams_deliver() {
    let (_, _, fed) = two_upstreams();
    let front = McpFront::new(fed, config());
    let expected = json!({"tools": {"listChanged": true}, "prompts": {"listChanged": true},
                          "resources": {"listChanged": true, "subscribe": true},
                          "completions": {}, "logging": {}});
    let modern = McpClient::modern(front.clone());
    let discovered = modern.request("server/discover", json!({})).await.unwrap();
    assert_eq!(discovered["capabilities"], expected);
    let legacy = McpClient::legacy(front);
    let init = legacy
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25",
        "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await
        .unwrap();
    assert_eq!(init["capabilities"], expected);
}

async fn next_note(l: &mut Listening) -> (String, Map<String, Value>) {
    tokio::time::timeout(Duration::from_secs(600), l.next())
        .await
        .expect("a notification within the (virtual) timeout")
        .expect("the listen is still open")
}

#[tokio::test(start_paused = true)]
async fn clients_of_both_eras_through_the_gateway_to_upstreams_of_both_eras() {
    // `m` speaks modern over HTTP, `l` only legacy over HTTP.
    let m = FakeMcpServer::new().with_resource("file:///m", "M");
    let l = FakeMcpServer::new().with_resource("file:///l", "L");
    let m_up = HttpUpstream::new(m.http(config()), "http://m.test/mcp".parse().unwrap());
    let l_up = HttpUpstream::new(
        l.http(config().with_modern(false)),
        "http://l.test/mcp".parse().unwrap(),
    );
    let fed = Federation::builder()
        .member(Member::new(name("m"), m_up.clone()))
        .member(Member::new(name("l"), l_up.clone()))
        .build()
        .unwrap();
    let gateway = McpFront::new(fed, config());
    let filter = ListenFilter::new().tools().resource("l+file:///l");

    let modern = McpClient::modern(gateway.clone());
    let mut modern_notes = modern.listen(filter.clone());
    let (ack, params) = next_note(&mut modern_notes).await;
    assert_eq!(ack, "notifications/subscriptions/acknowledged");
    assert_eq!(params["notifications"], filter.to_value());
    let legacy = McpClient::legacy(gateway.clone());
    let mut legacy_notes = legacy.listen(filter.clone());
    assert_eq!(
        next_note(&mut legacy_notes).await.0,
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(m_up.era().await, Some(Era::Modern));
    assert_eq!(l_up.era().await, Some(Era::Legacy));

    // Upstream `m`: one modern listen per client. Upstream `l`: one GET stream for the
    // gateway's session there, subscribed once to its URI for both clients.
    until("the upstream listens", || {
        m.listeners() == 2 && l.listeners() == 1 && l.calls_of("resources/subscribe") == 1
    })
    .await;
    let with_uri = ListenFilter::all_lists().resource("file:///l");
    until("the legacy upstream's GET to carry the URI", || {
        l.listen_filters() == [with_uri.clone()]
    })
    .await;
    l.notify_resource_updated("file:///l");
    m.notify_tools_changed();
    for notes in [&mut modern_notes, &mut legacy_notes] {
        let mut got = [next_note(notes).await, next_note(notes).await];
        got.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(got[0].0, "notifications/resources/updated");
        assert_eq!(got[0].1["uri"], "l+file:///l");
        assert_eq!(got[1].0, "notifications/tools/list_changed");
    }

    // The clients leave: the modern listens close, and the GET stream with the last one.
    drop(modern_notes);
    drop(legacy_notes);
    until("every upstream listen to close", || {
        m.listeners() == 0 && l.listeners() == 0
    })
    .await;
    until("the upstream unsubscribe", || {
        l.calls_of("resources/unsubscribe") == 1
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn an_upstream_listen_that_fails_is_opened_again() {
    let a = FakeMcpServer::new();
    a.set_down(true);
    let fed = Federation::builder()
        .member(Member::new(name("a"), a.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().tools());
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/subscriptions/acknowledged"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(a.listeners(), 0);
    a.set_down(false);
    until("the listen opened again", || a.listeners() == 1).await;
    a.notify_tools_changed();
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/tools/list_changed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_single_upstream_served_directly_listens_too() {
    let fake = FakeMcpServer::new().with_resource("file:///x", "X");
    let direct = Direct::new(fake.clone());
    let client = McpClient::modern(McpFront::new(direct, config()));
    let mut notes = client.listen(ListenFilter::new().resource("file:///x"));
    assert_eq!(
        next_note(&mut notes).await.1["notifications"],
        json!({"resourceSubscriptions": ["file:///x"]})
    );
    until("the listen", || fake.listeners() == 1).await;
    fake.notify_tools_changed();
    fake.notify_resource_updated("file:///x");
    let (m, p) = next_note(&mut notes).await;
    assert_eq!(
        (m.as_str(), &p["uri"]),
        ("notifications/resources/updated", &json!("file:///x"))
    );
    // The fake is an upstream service too: a listen needs a stream to write to.
    let bare = tower::ServiceExt::oneshot(
        fake.clone(),
        UpstreamRequest::new(
            "subscriptions/listen",
            ListenFilter::new().tools().to_params(),
        ),
    )
    .await;
    assert!(bare.is_err());
}

#[tokio::test(start_paused = true)]
async fn an_upstream_without_listen_is_asked_once_and_the_others_still_deliver() {
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let old = tower::service_fn(move |req: UpstreamRequest| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let e = agent_gateway_core::jsonrpc::ErrorObject::method_not_found(req.method());
        async move {
            Err::<Map<String, Value>, BoxError>(Box::new(agent_gateway_mcp::McpError::Upstream(e)))
        }
    });
    let a = FakeMcpServer::new();
    let fed = Federation::builder()
        .member(Member::new(name("old"), old))
        .member(Member::new(name("a"), a.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().tools());
    next_note(&mut notes).await;
    until("the listen", || a.listeners() == 1).await;
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "no retries"
    );
    a.notify_tools_changed();
    assert_eq!(
        next_note(&mut notes).await.0,
        "notifications/tools/list_changed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_legacy_upstreams_stream_and_subscriptions_outlive_the_sessions_idle_time() {
    let l = FakeMcpServer::new()
        .with_echo_tool("t")
        .with_resource("file:///l", "L");
    let l_up = HttpUpstream::new(
        l.http(config().with_modern(false)),
        "http://l.test/mcp".parse().unwrap(),
    )
    .with_sessions(Duration::from_secs(60), 8);
    let fed = Federation::builder()
        .member(Member::new(name("l"), l_up.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, config()));
    let mut notes = client.listen(ListenFilter::new().resource("l+file:///l"));
    next_note(&mut notes).await;
    let with_uri = ListenFilter::all_lists().resource("file:///l");
    until("the upstream GET with the URI", || {
        l.listen_filters() == [with_uri.clone()]
    })
    .await;
    // Five idle minutes later, and a call through the connector's shared session (which
    // drops the sessions idle past 60 s): the GET stream kept its session alive, so it was
    // never broken, and its subscription holds.
    tokio::time::sleep(Duration::from_secs(300)).await;
    client.list_tools().await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        l.calls_of("subscriptions/listen"),
        1,
        "the GET stream was never broken"
    );
    assert_eq!(l.listen_filters(), std::slice::from_ref(&with_uri));
    l.notify_resource_updated("file:///l");
    let (m, p) = next_note(&mut notes).await;
    assert_eq!(
        (m.as_str(), &p["uri"]),
        ("notifications/resources/updated", &json!("l+file:///l"))
    );
}
