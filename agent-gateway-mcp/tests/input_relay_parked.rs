//! The reverse translation through the front: a legacy upstream's real server→client
//! request mid-call reaches a modern client as an `input_required` result of a parked call,
//! and the call is resumed with the client's answer, only by the caller it was parked for.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::BoxError;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::{Service, ServiceExt};

/// A legacy upstream tool that asks the client for a name with a real request mid-call.
fn legacy_asking_upstream() -> Direct<
    impl Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError, Future = impl Send>
    + Clone
    + Send
    + 'static,
> {
    Direct::new(tower::service_fn(|req: UpstreamRequest| async move {
        let notifier = req.notifier().cloned().unwrap();
        let note = json!({"level": "info", "data": "asking"})
            .as_object()
            .cloned()
            .unwrap();
        notifier.notify("notifications/message", note).await;
        let params = json!({"message": "Your name?", "requestedSchema": {"type": "object"}});
        let answer = notifier
            .request("elicitation/create", params.as_object().cloned().unwrap())
            .await
            .map_err(|e| BoxError::from(e.message.to_string()))?;
        let text = format!(
            "hello {}",
            answer["content"]["name"].as_str().unwrap_or("?")
        );
        Ok::<_, BoxError>(
            json!({"content": [{"type": "text", "text": text}]})
                .as_object()
                .cloned()
                .unwrap(),
        )
    }))
}

fn modern_call(id: u64, name: &str, extra: Value) -> http::Request<Full<Bytes>> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}});
    let mut params = json!({"name": name, "arguments": {}, "_meta": meta});
    if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
        p.extend(e);
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", name)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// The JSON-RPC response in an answer, JSON or the last SSE event.
async fn response(res: http::Response<agent_gateway_mcp::front::ResponseBody>) -> (u16, Value) {
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = std::str::from_utf8(&bytes).unwrap();
    let last = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .map_or_else(
            || serde_json::from_str(text).unwrap(),
            |d| serde_json::from_str(d).unwrap(),
        );
    (status, last)
}

#[tokio::test]
async fn a_modern_client_answers_a_legacy_upstreams_requests_through_a_parked_call() {
    let front = McpFront::new(
        legacy_asking_upstream(),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let (_, first) = response(
        front
            .clone()
            .oneshot(modern_call(1, "greet", json!({})))
            .await
            .unwrap(),
    )
    .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required");
    let (key, ask) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["params"]["message"], "Your name?");
    let state = result["requestState"].as_str().unwrap().to_owned();

    // A retry for another tool, or with a forged state, cannot resume it.
    let answers = json!({key.clone(): {"action": "accept", "content": {"name": "ada"}}});
    for (name, st) in [("other", state.as_str()), ("greet", "agw-parked.00ff")] {
        let extra = json!({"inputResponses": answers, "requestState": st});
        let (status, body) = response(
            front
                .clone()
                .oneshot(modern_call(2, name, extra))
                .await
                .unwrap(),
        )
        .await;
        // The gateway's own -32602, in a 200 like its unknown-tool answer.
        assert_eq!(
            (status, body["error"]["code"].as_i64()),
            (200, Some(-32602)),
            "{name} {st}"
        );
    }
    // The real retry resumes the call, which finishes with the answer.
    let extra = json!({"inputResponses": answers, "requestState": state});
    let (status, body) = response(
        front
            .clone()
            .oneshot(modern_call(3, "greet", extra.clone()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 3);
    assert_eq!(body["result"]["content"][0]["text"], "hello ada");
    // Resumed once: the same state again is spent.
    let (_, body) = response(front.oneshot(modern_call(4, "greet", extra)).await.unwrap()).await;
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn a_parked_call_is_resumed_only_by_its_caller() {
    use agent_gateway_core::Caller;
    let as_caller = |mut req: http::Request<Full<Bytes>>, who: &str| {
        req.extensions_mut().insert(Caller::new(who));
        req
    };
    let front = McpFront::new(
        legacy_asking_upstream(),
        McpFrontConfig::new("gw", "1").unwrap(),
    );
    let first = front
        .clone()
        .oneshot(as_caller(modern_call(1, "greet", json!({})), "alice"))
        .await
        .unwrap();
    let (_, first) = response(first).await;
    let result = &first["result"];
    let key = result["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let extra = json!({"inputResponses": {key: {"action": "accept", "content": {"name": "eve"}}},
                       "requestState": result["requestState"]});
    let stolen = front
        .clone()
        .oneshot(as_caller(modern_call(2, "greet", extra.clone()), "mallory"))
        .await
        .unwrap();
    let (_, stolen) = response(stolen).await;
    assert_eq!(stolen["error"]["code"], -32602, "{stolen}");
    let own = front
        .oneshot(as_caller(modern_call(3, "greet", extra), "alice"))
        .await
        .unwrap();
    let (_, own) = response(own).await;
    assert_eq!(own["result"]["content"][0]["text"], "hello eve", "{own}");
}
