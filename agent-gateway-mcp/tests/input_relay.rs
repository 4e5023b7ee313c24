//! Era translation of input requests through the front: a modern upstream's `input_required`
//! result becomes real server→client requests on a legacy client's stream, the client's POSTed
//! answers are routed back (only from the session that was asked) and the upstream call is
//! retried with them; a modern client gets the `input_required` result untouched. The
//! client's capabilities and log level reach a modern HTTP upstream's `_meta`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use agent_gateway_core::BoxError;
use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::{Service, ServiceExt};

type Seen = Arc<Mutex<Vec<UpstreamRequest>>>;

/// A modern upstream tool that first asks for a name (elicitation) and the client's roots,
/// then greets with both; it checks that `requestState` comes back exactly.
fn asking_upstream(
    seen: Seen,
) -> Direct<
    impl Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError, Future = impl Send>
    + Clone
    + Send
    + 'static,
> {
    Direct::new(tower::service_fn(move |req: UpstreamRequest| {
        seen.lock().unwrap().push(req.clone());
        async move {
            let p = req.params();
            let result = match p.get("inputResponses") {
                None => json!({
                    "resultType": "input_required",
                    "requestState": "sealed-by-upstream",
                    "inputRequests": {
                        "1-who": {"method": "elicitation/create", "params": {
                            "mode": "form", "message": "Your name?",
                            "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}},
                        "2-where": {"method": "roots/list", "params": {}}
                    }
                }),
                Some(r) => {
                    assert_eq!(p["requestState"], "sealed-by-upstream");
                    let text = format!(
                        "hello {} in {}",
                        r["1-who"]["content"]["name"].as_str().unwrap(),
                        r["2-where"]["roots"][0]["uri"].as_str().unwrap()
                    );
                    json!({"content": [{"type": "text", "text": text}]})
                }
            };
            Ok::<_, BoxError>(result.as_object().cloned().unwrap())
        }
    }))
}

fn post(body: &Value, session: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        b = b
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

async fn initialize<S>(front: &McpFront<S>, capabilities: Value) -> String
where
    McpFront<S>: Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<agent_gateway_mcp::front::ResponseBody>,
            Error = std::convert::Infallible,
        > + Clone,
{
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": capabilities,
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = front.clone().oneshot(post(&init, None)).await.unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["mcp-session-id"].to_str().unwrap().to_owned()
}

async fn next_event<B>(body: &mut B) -> Value
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    loop {
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let text = std::str::from_utf8(&frame).unwrap();
        // A legacy stream opens with a priming event: an id and empty data.
        if let Some(data) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
            return serde_json::from_str(data).unwrap();
        }
    }
}

#[tokio::test]
async fn a_legacy_client_answers_a_modern_upstreams_input_requests_on_its_stream() {
    let seen = Seen::default();
    let front = McpFront::new(
        asking_upstream(seen.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let caps = json!({"elicitation": {"form": {}}, "roots": {"listChanged": true}});
    let session = initialize(&front, caps.clone()).await;
    let other = initialize(&front, caps.clone()).await;

    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                      "params": {"name": "greet", "arguments": {"formal": false}}});
    let res = front
        .clone()
        .oneshot(post(&call, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();

    let ask = next_event(&mut body).await;
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["params"]["message"], "Your name?");
    let ask_id = ask["id"].as_str().unwrap().to_owned();
    assert!(
        ask_id.starts_with("agw-"),
        "a gateway id, unique toward the client"
    );

    let answer = |id: &str, result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
    // Another session cannot answer it: accepted as a late answer would be, and ignored.
    let forged = answer(
        &ask_id,
        json!({"action": "accept", "content": {"name": "mallory"}}),
    );
    let res = front
        .clone()
        .oneshot(post(&forged, Some(&other)))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let real = answer(
        &ask_id,
        json!({"action": "accept", "content": {"name": "ada"}}),
    );
    let res = front
        .clone()
        .oneshot(post(&real, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    let ask = next_event(&mut body).await;
    assert_eq!(ask["method"], "roots/list");
    let roots = answer(
        ask["id"].as_str().unwrap(),
        json!({"roots": [{"uri": "file:///work", "name": "work"}]}),
    );
    let res = front
        .clone()
        .oneshot(post(&roots, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    let last = next_event(&mut body).await;
    assert_eq!(last["id"], 7);
    assert_eq!(
        last["result"]["content"][0]["text"],
        "hello ada in file:///work"
    );
    assert!(body.frame().await.is_none());

    // Two upstream calls: the first, then one retry with the answers and the same arguments.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].params()["arguments"], json!({"formal": false}));
    assert_eq!(seen[1].params()["name"], "greet");
    // The upstream was told what the client declared at initialize, and that it logs all.
    let hop = seen[0].client().unwrap();
    assert_eq!(hop.capabilities(), &caps);
    assert_eq!(hop.log_level(), Some("debug"));
}

#[tokio::test]
async fn a_modern_client_gets_input_required_untouched() {
    let seen = Seen::default();
    let front = McpFront::new(
        asking_upstream(seen.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
                      "io.modelcontextprotocol/logLevel": "warning"});
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "greet", "_meta": meta}});
    let req = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "greet")
        .body(Full::new(Bytes::from(call.to_string())))
        .unwrap();
    let res = front.oneshot(req).await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["result"]["resultType"], "input_required");
    assert_eq!(body["result"]["requestState"], "sealed-by-upstream");
    assert_eq!(
        body["result"]["inputRequests"]["2-where"]["method"],
        "roots/list"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        1,
        "no retry: the modern client fulfils it itself"
    );
    let hop = seen[0].client().unwrap();
    assert!(hop.declares("elicitation") && !hop.declares("sampling"));
    assert_eq!(hop.log_level(), Some("warning"));
}

#[tokio::test(start_paused = true)]
async fn a_legacy_client_that_leaves_mid_question_ends_the_call() {
    let seen = Seen::default();
    let front = McpFront::new(
        asking_upstream(seen.clone()),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let session = initialize(&front, json!({"elicitation": {}, "roots": {}})).await;
    let call =
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "greet"}});
    let res = front
        .clone()
        .oneshot(post(&call, Some(&session)))
        .await
        .unwrap();
    let mut body = res.into_body();
    let ask = next_event(&mut body).await;
    drop(body);
    // The question is forgotten with the stream: a late answer goes nowhere, and the upstream
    // is never retried.
    let late = json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "decline"}});
    let res = front
        .clone()
        .oneshot(post(&late, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    // With time paused, the clock only moves once every task is idle: past the longest a
    // call whose client left may run, whatever the front still had to do has been done.
    tokio::time::sleep(std::time::Duration::from_secs(301)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn client_capabilities_and_log_level_reach_a_modern_http_upstream() {
    let metas = Arc::new(Mutex::new(Vec::new()));
    let record = metas.clone();
    let inner = tower::service_fn(move |req: McpRequest| {
        record
            .lock()
            .unwrap()
            .push(req.params().get("_meta").cloned());
        async move {
            Ok::<_, BoxError>(McpResponse::for_method(
                req.method(),
                json!({"content": []}),
            ))
        }
    });
    // Modern only: a dual-era upstream is spoken to in the legacy era for a legacy client.
    let upstream_front = McpFront::new(
        inner,
        McpFrontConfig::new("up", "1").unwrap().with_legacy(false),
    );
    let upstream = HttpUpstream::new(upstream_front, "http://up.test/mcp".parse().unwrap());
    let gateway = McpFront::new(
        Direct::new(upstream),
        McpFrontConfig::new("gw", "1").unwrap(),
    );

    let session = initialize(&gateway, json!({"sampling": {}})).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t"}});
    let res = gateway
        .clone()
        .oneshot(post(&call, Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let metas = metas.lock().unwrap();
    let last = metas.last().unwrap().as_ref().unwrap();
    assert_eq!(
        last["io.modelcontextprotocol/clientCapabilities"],
        json!({"sampling": {}})
    );
    assert_eq!(last["io.modelcontextprotocol/logLevel"], "debug");
    assert_eq!(
        last["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
}

#[tokio::test]
async fn a_legacy_client_cancels_its_request_and_the_call_is_dropped() {
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    struct Flag(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let flag = dropped.clone();
    // The upstream says when the call reached it, so the checks below run against a call
    // that is certainly in flight.
    let (reached_tx, mut reached) = tokio::sync::mpsc::unbounded_channel();
    let hanging = tower::service_fn(move |_req: UpstreamRequest| {
        let guard = Flag(flag.clone());
        let _ = reached_tx.send(());
        async move {
            let _guard = guard;
            std::future::pending::<Result<Map<String, Value>, BoxError>>().await
        }
    });
    let front = McpFront::new(
        Direct::new(hanging),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let session = initialize(&front, json!({})).await;
    let other = initialize(&front, json!({})).await;
    let call =
        json!({"jsonrpc": "2.0", "id": "req-9", "method": "tools/call", "params": {"name": "t"}});
    let pending = tokio::spawn(front.clone().oneshot(post(&call, Some(&session))));
    reached.recv().await.expect("the call reaches the upstream");
    assert!(!dropped.load(std::sync::atomic::Ordering::SeqCst));

    let cancel = |id: Value| {
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": id, "reason": "user"}})
    };
    // Another session cannot cancel it, nor can a wrong id.
    for (id, s) in [(json!("req-9"), &other), (json!(9), &session)] {
        let res = front
            .clone()
            .oneshot(post(&cancel(id), Some(s)))
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
    }
    tokio::task::yield_now().await;
    assert!(!dropped.load(std::sync::atomic::Ordering::SeqCst));

    let res = front
        .clone()
        .oneshot(post(&cancel(json!("req-9")), Some(&session)))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = pending.await.unwrap().unwrap();
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["id"], "req-9");
    assert_eq!(body["error"]["code"], -32800);
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "the upstream call was dropped"
    );
}
