//! SSE relayed in order, per binding and version, event by event; a client that goes away ends
//! the upstream stream.

mod support;

use std::pin::Pin;
use std::task::{Context, Poll};

use agent_gateway_a2a::body::A2aBody;
use agent_gateway_a2a::registry::{Agent, AgentRegistry};
use agent_gateway_a2a::testkit::{A2aClient, FakeAgent};
use agent_gateway_a2a::version::Version;
use agent_gateway_core::BoxError;
use agent_gateway_core::sse::Decoder;
use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::util::BoxCloneSyncService;

fn states(events: &[Value], pick: impl Fn(&Value) -> Value) -> Vec<Value> {
    events.iter().map(pick).collect()
}

#[tokio::test(start_paused = true)]
async fn jsonrpc_1_0_stream_is_relayed_in_order_with_sealed_ids() {
    let fake = FakeAgent::new("echo");
    let client = A2aClient::new(support::front(support::registry(&[(
        "echo",
        &[("i1", &fake, Version::V1_0)],
    )])));
    let params =
        json!({"message": {"messageId": "s1", "role": "ROLE_USER", "parts": [{"text": "go"}]}});
    let events = client
        .stream("echo", "SendStreamingMessage", params)
        .await
        .expect("a stream");
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e["jsonrpc"] == "2.0" && e["id"] == 1));
    let r: Vec<&Value> = events.iter().map(|e| &e["result"]).collect();
    assert_eq!(r[0]["task"]["status"]["state"], "TASK_STATE_WORKING");
    assert_eq!(
        r[1]["statusUpdate"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    assert_eq!(
        r[2]["artifactUpdate"]["artifact"]["parts"][0]["text"],
        "echo: go"
    );
    assert_eq!(
        r[3]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    let id = r[0]["task"]["id"].as_str().expect("an id");
    assert_eq!(
        support::sealer().open(
            "echo",
            &agent_gateway_core::Caller::anonymous().owner_digest(),
            id
        ),
        Some(("i1".into(), "echo-task-1".into()))
    );
    assert_eq!(r[3]["statusUpdate"]["taskId"], id);
}

#[tokio::test(start_paused = true)]
async fn v03_client_gets_kind_tagged_events_from_a_1_0_agent() {
    let fake = FakeAgent::new("echo");
    let client = A2aClient::new(support::front(support::registry(&[(
        "echo",
        &[("i1", &fake, Version::V1_0)],
    )])))
    .with_version(Version::V0_3);
    let params = json!({"message": {"kind": "message", "messageId": "s1", "role": "user", "parts": [{"kind": "text", "text": "go"}]}});
    let events = client
        .stream("echo", "message/stream", params)
        .await
        .expect("a stream");
    let kinds = states(&events, |e| e["result"]["kind"].clone());
    assert_eq!(
        kinds,
        [
            json!("task"),
            json!("status-update"),
            json!("artifact-update"),
            json!("status-update")
        ]
    );
    assert_eq!(events[0]["result"]["status"]["state"], "working");
    assert_eq!(events[1]["result"]["final"], false);
    assert_eq!(events[2]["result"]["artifact"]["parts"][0]["kind"], "text");
    assert_eq!(events[3]["result"]["status"]["state"], "completed");
    assert_eq!(events[3]["result"]["final"], true);
}

fn sse_data(text: &str) -> Vec<Value> {
    let mut events = Vec::new();
    Decoder::new()
        .feed(text.as_bytes(), &mut events)
        .expect("valid SSE");
    events
        .iter()
        .map(|e| serde_json::from_str(&e.data).expect("JSON data"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn rest_stream_and_subscribe_by_get_and_post() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    let res = client
        .post("/echo/message:stream")
        .header("a2a-version", "1.0")
        .header("content-type", "application/a2a+json")
        .json(&json!({"message": {"messageId": "s1", "role": "ROLE_USER", "parts": [{"text": "go"}]}}))
        .send()
        .await;
    assert_eq!(res.header("content-type"), Some("text/event-stream"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let events = sse_data(res.text());
    assert_eq!(events.len(), 4);
    let id = events[0]["task"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        events[3]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    for (method, path) in [
        ("GET", format!("/echo/tasks/{id}:subscribe")),
        ("POST", format!("/echo/acme/tasks/{id}:subscribe/")),
    ] {
        let res = client
            .request(method.parse().expect("a method"), &path)
            .header("a2a-version", "1.0")
            .send()
            .await;
        let events = sse_data(res.text());
        assert_eq!(events.len(), 1, "{method} {path}: {}", res.text());
        assert_eq!(events[0]["task"]["id"], id.as_str());
        assert_eq!(events[0]["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    }
    let got = client
        .get(&format!("/echo/tasks/{id}?historyLength=1"))
        .header("a2a-version", "1.0")
        .send()
        .await;
    assert_eq!(got.json()["id"], id.as_str());
    assert_eq!(fake.calls(), 4);
}

/// An upstream body fed by a channel, to stream one event at a time.
struct Channel(mpsc::Receiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test(start_paused = true)]
async fn events_pass_one_by_one_and_a_client_disconnect_ends_the_upstream() {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
    let connector =
        BoxCloneSyncService::new(tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let rx = rx
                .lock()
                .expect("not poisoned")
                .take()
                .expect("called once");
            async move {
                let mut res = Response::new(A2aBody::new(Channel(rx)));
                res.headers_mut()
                    .insert("content-type", "text/event-stream".parse()?);
                Ok::<_, BoxError>(res)
            }
        }));
    let registry = AgentRegistry::builder()
        .agent(
            Agent::new("slow")
                .expect("a name")
                .instance("i1", "http://slow.internal/", Version::V1_0, connector)
                .expect("an instance"),
        )
        .build()
        .expect("a registry");
    let front = support::front(registry);
    let req = Request::post("/slow/message:stream")
        .header("a2a-version", "1.0")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}).to_string(),
        )))
        .expect("a request");
    let event = |state: &str| {
        Bytes::from(format!(
            "data: {}\n\n",
            json!({"jsonrpc": "2.0", "id": 1, "result": {"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}}})
        ))
    };
    // The front reads the first event before it answers (an error there is an answer of its
    // own, as the agents give it).
    tx.send(event("TASK_STATE_SUBMITTED")).await.expect("open");
    let res = tower::ServiceExt::oneshot(front, req)
        .await
        .expect("infallible");
    let mut body = res.into_body();
    let mut next = async || {
        let frame = body
            .frame()
            .await
            .expect("a frame")
            .expect("no error")
            .into_data()
            .expect("data");
        String::from_utf8(frame.to_vec()).expect("UTF-8")
    };
    assert!(next().await.contains("TASK_STATE_SUBMITTED"));
    tx.send(event("TASK_STATE_WORKING")).await.expect("open");
    // The next event arrives while the upstream is still open: nothing waits for the end.
    let text = next().await;
    assert!(
        text.starts_with("data: {") && text.contains("TASK_STATE_WORKING"),
        "{text}"
    );
    assert!(
        !text.contains("\"jsonrpc\""),
        "HTTP+JSON events are bare StreamResponses: {text}"
    );
    assert!(!tx.is_closed());
    drop(body);
    assert!(
        tx.is_closed(),
        "dropping the client's body dropped the upstream body"
    );
}
