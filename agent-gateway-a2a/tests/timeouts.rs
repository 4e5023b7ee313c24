//! Every wait on an agent is bounded (#12 item 2, #11 finding 7): a silent agent, a stream
//! that goes quiet and a silent card fetch are each answered with the timeout (or unavailable)
//! error within the configured time, and concurrent card misses share one fetch.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_gateway_a2a::body::A2aBody;
use agent_gateway_a2a::front::A2aFront;
use agent_gateway_a2a::registry::{Agent, AgentRegistry, Connector, DEFAULT_TIMEOUT};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::version::Version;
use agent_gateway_core::BoxError;
use agent_gateway_core::testkit::TestClient;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::{Full, StreamBody};
use serde_json::json;
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;

/// Slack on top of a configured timeout: the answer is due at the deadline, not after.
const SLACK: Duration = Duration::from_millis(100);

/// A connector that counts its calls and never answers.
fn silent(calls: Arc<AtomicUsize>) -> Connector {
    BoxCloneSyncService::new(tower::service_fn(move |_req: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<Result<Response<A2aBody>, BoxError>>()
    }))
}

/// A connector that answers with one SSE event and then goes quiet.
fn stalls_after_one_event() -> Connector {
    BoxCloneSyncService::new(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        let event = json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"id": "t1",
            "contextId": "c1", "status": {"state": "TASK_STATE_WORKING"}}}});
        let first = Bytes::from(format!("data: {event}\n\n"));
        let frames =
            futures_util::stream::once(async move { Ok::<_, BoxError>(Frame::data(first)) })
                .chain(futures_util::stream::pending());
        let mut res = Response::new(A2aBody::new(StreamBody::new(frames)));
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse()?);
        Ok::<_, BoxError>(res)
    }))
}

fn client(agent: Agent, card_timeout: Option<Duration>) -> TestClient<A2aFront<A2aRouter>> {
    let mut registry = AgentRegistry::builder().agent(agent);
    if let Some(t) = card_timeout {
        registry = registry.with_card_timeout(t);
    }
    let registry = registry.build().expect("a registry");
    TestClient::new(support::front(registry))
}

fn send() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params":
        {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}})
}

#[tokio::test(start_paused = true)]
async fn a_silent_agent_is_a_timeout_within_the_configured_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_secs(2);
    let agent = Agent::new("quiet")
        .expect("a name")
        .with_timeout(timeout)
        .instance(
            "q1",
            "http://quiet.internal/",
            Version::V1_0,
            silent(calls.clone()),
        )
        .expect("an instance");
    let client = client(agent, None);

    let start = Instant::now();
    let res = client
        .post("/quiet")
        .header("a2a-version", "1.0")
        .json(&send())
        .send()
        .await;
    let waited = start.elapsed();
    assert!(waited >= timeout && waited <= timeout + SLACK, "{waited:?}");
    assert_eq!(res.json()["error"]["code"], -32603, "{}", res.text());
    assert_eq!(res.json()["error"]["message"], "Agent timed out");

    let start = Instant::now();
    let res = client
        .post("/quiet/message:send")
        .header("a2a-version", "1.0")
        .json(&send()["params"])
        .send()
        .await;
    let waited = start.elapsed();
    assert!(waited >= timeout && waited <= timeout + SLACK, "{waited:?}");
    assert_eq!(res.status(), 504, "{}", res.text());
    assert_eq!(res.json()["error"]["status"], "DEADLINE_EXCEEDED");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one call each, no retry");
}

#[tokio::test(start_paused = true)]
async fn without_settings_a_silent_agent_is_cut_at_the_default() {
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = Agent::new("quiet")
        .expect("a name")
        .instance("q1", "http://quiet.internal/", Version::V1_0, silent(calls))
        .expect("an instance");
    let client = client(agent, None);
    let start = Instant::now();
    let res = client
        .post("/quiet")
        .header("a2a-version", "1.0")
        .json(&send())
        .send()
        .await;
    let waited = start.elapsed();
    assert!(
        waited >= DEFAULT_TIMEOUT && waited <= DEFAULT_TIMEOUT + SLACK,
        "{waited:?}"
    );
    assert_eq!(res.json()["error"]["message"], "Agent timed out");
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_goes_quiet_ends_with_the_timeout_error() {
    let idle = Duration::from_secs(3);
    let agent = Agent::new("stalls")
        .expect("a name")
        .with_stream_idle_timeout(idle)
        .instance(
            "s1",
            "http://stalls.internal/",
            Version::V1_0,
            stalls_after_one_event(),
        )
        .expect("an instance");
    let client = client(agent, None);
    let mut stream = send();
    stream["method"] = json!("SendStreamingMessage");
    let start = Instant::now();
    let res = client
        .post("/stalls")
        .header("a2a-version", "1.0")
        .json(&stream)
        .send()
        .await;
    let waited = start.elapsed();
    assert!(waited >= idle && waited <= idle + SLACK, "{waited:?}");
    let events: Vec<serde_json::Value> = res
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("JSON"))
        .collect();
    assert_eq!(events.len(), 2, "{}", res.text());
    assert_eq!(
        events[0]["result"]["task"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    assert_eq!(events[1]["error"]["code"], -32603);
    assert_eq!(events[1]["error"]["message"], "Agent timed out");
}

#[tokio::test(start_paused = true)]
async fn a_silent_card_is_unavailable_in_time_and_fetched_once_for_concurrent_callers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_secs(1);
    let agent = Agent::new("quiet")
        .expect("a name")
        .instance(
            "q1",
            "http://quiet.internal/",
            Version::V1_0,
            silent(calls.clone()),
        )
        .expect("an instance");
    let client = client(agent, Some(timeout));
    let card = "/quiet/.well-known/agent-card.json";
    let start = Instant::now();
    let (a, b, c) = tokio::join!(
        client.get(card).send(),
        client.get(card).send(),
        client.get(card).send()
    );
    let waited = start.elapsed();
    assert!(waited >= timeout && waited <= timeout + SLACK, "{waited:?}");
    for res in [a, b, c] {
        assert_eq!(res.status(), 503, "{}", res.text());
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one fetch for three callers"
    );
}
