use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_gateway_core::testkit::{TestClient, TestResponse};
use agent_gateway_core::{AgentRequest, BoxError, Denied, Secret, SystemClock};
use http::HeaderValue;
use serde_json::{Value, json};

use super::*;
use crate::session::{Sealer, SessionKey};

type Front = McpFront<tower::util::BoxCloneSyncService<McpRequest, McpResponse, BoxError>>;

fn front(config: McpFrontConfig) -> (TestClient<Front>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let inner = tower::service_fn(move |req: McpRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        async move {
            match req.params().get("name").and_then(Value::as_str) {
                Some("forbidden") => Err(Box::new(Denied::forbidden("not for you")) as BoxError),
                Some("slow") => {
                    Err(Box::new(Denied::quota_exceeded(Duration::from_millis(1500))) as BoxError)
                }
                Some("anon") => Err(Box::new(Denied::unauthenticated("who are you")) as BoxError),
                _ => Ok(McpResponse::for_method(
                    req.method(),
                    json!({"tools": [{"name": "echo"}]}),
                )),
            }
        }
    });
    let inner = tower::util::BoxCloneSyncService::new(inner);
    (TestClient::new(McpFront::new(inner, config)), calls)
}

fn config() -> McpFrontConfig {
    McpFrontConfig::new("gw", "1.0")
        .unwrap()
        .with_allowed_origins([HeaderValue::from_static("https://app.example")])
        .with_max_body(1024)
        .with_www_authenticate(HeaderValue::from_static(
            r#"Bearer resource_metadata="https://gw/.well-known/oauth-protected-resource""#,
        ))
}

fn meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientCapabilities": {}})
}

async fn modern(
    client: &TestClient<Front>,
    method: &str,
    mut params: Value,
    name: Option<&str>,
) -> TestResponse {
    params["_meta"] = meta();
    let mut req = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(n) = name {
        req = req.header("mcp-name", n);
    }
    req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
}

#[tokio::test]
async fn modern_call_discover_and_denials() {
    let (client, calls) = front(config());
    let ok = modern(&client, "tools/call", json!({"name": "echo"}), Some("echo")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json()["result"]["resultType"], "complete");
    assert_eq!(
        ok.json()["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "gw"
    );
    let list = modern(&client, "tools/list", json!({}), None).await;
    assert_eq!(list.json()["result"]["ttlMs"], 0);
    assert_eq!(list.json()["result"]["cacheScope"], "private");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let disc = modern(&client, "server/discover", json!({}), None).await;
    assert_eq!(disc.status(), 200);
    assert_eq!(
        disc.json()["result"]["supportedVersions"],
        json!(["2026-07-28"])
    );
    // The front answers discover itself, after the inner service (the policy stack) admitted it.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(
        disc.json()["result"].get("tools").is_none(),
        "the inner result is not used"
    );

    let no = modern(
        &client,
        "tools/call",
        json!({"name": "forbidden"}),
        Some("forbidden"),
    )
    .await;
    assert_eq!(
        (no.status().as_u16(), no.json()["error"]["code"].clone()),
        (403, json!(-32003))
    );
    assert_eq!(no.json()["error"]["message"], "not for you");
    let slow = modern(&client, "tools/call", json!({"name": "slow"}), Some("slow")).await;
    assert_eq!(slow.status(), 429);
    assert_eq!(slow.header("retry-after"), Some("2"));
    let anon = modern(&client, "tools/call", json!({"name": "anon"}), Some("anon")).await;
    assert_eq!(anon.status(), 401);
    assert!(
        anon.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer resource_metadata=")
    );
}

#[tokio::test]
async fn base64_sentinel_names_match() {
    let (client, calls) = front(config());
    let res = modern(
        &client,
        "tools/call",
        json!({"name": "échο"}),
        Some("=?base64?w6ljaM6/?="),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// What the inner service saw of each request: the decoded name and the federated target.
type Seen = Arc<std::sync::Mutex<Vec<(Option<String>, Option<crate::naming::FederatedTarget>)>>>;

fn recording(config: McpFrontConfig) -> (TestClient<Front>, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let inner = tower::service_fn(move |req: McpRequest| {
        let name = req
            .params()
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let target = req
            .extensions()
            .get::<crate::naming::FederatedTarget>()
            .cloned();
        log.lock().unwrap().push((name, target));
        async move { Ok::<_, BoxError>(McpResponse::for_method(req.method(), json!({}))) }
    });
    let inner = tower::util::BoxCloneSyncService::new(inner);
    (TestClient::new(McpFront::new(inner, config)), seen)
}

#[tokio::test]
async fn the_decoded_name_and_its_federated_target_reach_the_inner_service() {
    let naming = crate::naming::Naming::default();
    let (client, seen) = recording(config().with_naming(naming));
    // A mirrored non-ASCII name arrives decoded, split into upstream and name.
    let b64 = "=?base64?Z2l0LWh1Yl9fw6ljaM6/?=";
    let res = modern(
        &client,
        "tools/call",
        json!({"name": "git-hub__échο"}),
        Some(b64),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // A name that does not split carries no target; a listing has no name at all.
    let res = modern(
        &client,
        "tools/call",
        json!({"name": "plain"}),
        Some("plain"),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // A completion's prompt reference is a federated name too; a resource reference is not.
    for r in [
        json!({"type": "ref/prompt", "name": "git-hub__greet"}),
        json!({"type": "ref/resource", "uri": "git-hub__x://y"}),
    ] {
        let res = modern(&client, "completion/complete", json!({ "ref": r }), None).await;
        assert_eq!(res.status(), 200, "{}", res.text());
    }
    let completions: Vec<_> = seen.lock().unwrap().drain(2..).map(|(_, t)| t).collect();
    assert_eq!(
        completions,
        [
            crate::naming::FederatedTarget::split(
                &crate::naming::Naming::default(),
                "git-hub__greet"
            ),
            None
        ]
    );
    let seen = seen.lock().unwrap().clone();
    let split =
        crate::naming::FederatedTarget::split(&crate::naming::Naming::default(), "git-hub__échο");
    assert_eq!(
        seen,
        [
            (Some("git-hub__échο".to_owned()), split),
            (Some("plain".to_owned()), None)
        ]
    );
    assert_eq!(
        seen[0].1.as_ref().map(|t| (t.upstream(), t.name())),
        Some(("git-hub", "échο"))
    );
    // Without the naming configured, no target is set.
    let (client, seen) = recording(config());
    modern(
        &client,
        "tools/call",
        json!({"name": "git-hub__x"}),
        Some("git-hub__x"),
    )
    .await;
    assert_eq!(seen.lock().unwrap()[0].1, None);
}

#[tokio::test]
async fn legacy_session_lifecycle() {
    let (client, calls) = front(config());
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    let post = || {
        client
            .post("/mcp")
            .header("accept", "application/json, text/event-stream")
    };
    let res = post().json(&init).send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json()["result"]["protocolVersion"], "2025-06-18");
    let session = res.header("mcp-session-id").unwrap().to_owned();

    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let res = post()
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .json(&list)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json()["result"]["tools"][0]["name"], "echo");
    assert!(res.json()["result"].get("resultType").is_none());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "initialize was admitted by the inner service"
    );

    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
    assert_eq!(
        post()
            .header("mcp-session-id", &session)
            .json(&ping)
            .send()
            .await
            .json()["result"],
        json!({})
    );
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        post()
            .header("mcp-session-id", &session)
            .json(&note)
            .send()
            .await
            .status(),
        202
    );

    // Another replica with the same key serves the session; one with another key does not.
    let key = SessionKey::new(Secret::new([9u8; 32]));
    let sealer = |k: SessionKey| Sealer::new(k, Duration::from_secs(60), SystemClock::shared());
    let (a, _) = front(config().with_session_key(sealer(key.clone())));
    let (b, _) = front(config().with_session_key(sealer(key)));
    let (c, _) = front(config().with_session_key(sealer(SessionKey::new(Secret::new([8u8; 32])))));
    let hdr = "application/json, text/event-stream";
    let s = a
        .post("/mcp")
        .header("accept", hdr)
        .json(&init)
        .send()
        .await
        .header("mcp-session-id")
        .unwrap()
        .to_owned();
    assert_eq!(
        b.post("/mcp")
            .header("accept", hdr)
            .header("mcp-session-id", &s)
            .json(&list)
            .send()
            .await
            .status(),
        200
    );
    assert_eq!(
        c.post("/mcp")
            .header("accept", hdr)
            .header("mcp-session-id", &s)
            .json(&list)
            .send()
            .await
            .status(),
        404
    );

    assert_eq!(
        client
            .delete("/mcp")
            .header("mcp-session-id", &session)
            .send()
            .await
            .status(),
        200
    );
    assert_eq!(
        client
            .delete("/mcp")
            .header("mcp-session-id", "nope")
            .send()
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn legacy_only_and_modern_only() {
    let (legacy_only, calls) = front(config().with_modern(false));
    let res = modern(&legacy_only, "tools/list", json!({}), None).await;
    assert_eq!(
        (res.status().as_u16(), res.json()["error"]["code"].clone()),
        (400, json!(-32600))
    );
    let (modern_only, _) = front(config().with_legacy(false));
    let res = modern(&modern_only, "initialize", json!({}), None).await;
    assert_eq!(
        (res.status().as_u16(), res.json()["error"]["code"].clone()),
        (404, json!(-32601))
    );
    assert_eq!(
        modern_only
            .delete("/mcp")
            .header("mcp-session-id", "x")
            .send()
            .await
            .status(),
        405
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// How each policy denial is rendered on the wire by the front: status, code, headers, data.
#[tokio::test]
async fn every_denial_on_the_wire() {
    let cases: Vec<(Denied, u16, i64, Option<&str>, Value)> = vec![
        (
            Denied::unauthenticated("no token"),
            401,
            -32001,
            None,
            Value::Null,
        ),
        (
            Denied::forbidden("not yours"),
            403,
            -32003,
            None,
            Value::Null,
        ),
        (
            Denied::quota_exceeded(Duration::from_secs(30)),
            429,
            -32004,
            Some("30"),
            json!({"retryAfterMs": 30000}),
        ),
        (
            Denied::budget_exhausted("spent"),
            402,
            -32005,
            None,
            Value::Null,
        ),
        (
            Denied::guardrail_blocked("pii-7"),
            403,
            -32006,
            None,
            json!({"rule": "pii-7"}),
        ),
        (
            Denied::bad_request("bad args"),
            400,
            -32602,
            None,
            Value::Null,
        ),
        (
            Denied::unavailable("store down"),
            503,
            -32007,
            None,
            Value::Null,
        ),
    ];
    for (denied, status, code, retry_after, data) in cases {
        let label = denied.to_string();
        let inner = tower::service_fn(move |_req: McpRequest| {
            let denied = denied.clone();
            async move { Err::<McpResponse, BoxError>(Box::new(denied)) }
        });
        let client = TestClient::new(McpFront::new(inner, config()));
        let mut params = json!({"name": "t"});
        params["_meta"] = meta();
        let res = client
            .post("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "t")
            .json(
                &json!({"jsonrpc": "2.0", "id": "req-1", "method": "tools/call", "params": params}),
            )
            .send()
            .await;
        let body = res.json();
        assert_eq!(res.status().as_u16(), status, "{label}");
        assert_eq!(body["id"], "req-1", "{label}");
        assert_eq!(body["error"]["code"], code, "{label}");
        assert_eq!(body["error"]["data"], data, "{label}");
        assert_eq!(res.header("retry-after"), retry_after, "{label}");
        assert_eq!(
            res.header("www-authenticate").is_some(),
            status == 401,
            "{label}"
        );
    }
}

#[tokio::test]
async fn layer_builds_fronts_sharing_one_config_and_expired_sessions_are_404() {
    use agent_gateway_core::ManualClock;
    use tower::{Layer, ServiceBuilder};

    let clock = Arc::new(ManualClock::new());
    let sealer = Sealer::new(
        SessionKey::new(Secret::new([3u8; 32])),
        Duration::from_secs(60),
        clock.clone(),
    );
    let layer = McpFrontLayer::new(config().with_session_key(sealer));
    let inner = tower::service_fn(|req: McpRequest| async move {
        Ok::<_, BoxError>(McpResponse::for_method(req.method(), json!({"tools": []})))
    });
    // Two fronts from one layer (as axum does per route) share the session key.
    let a = TestClient::new(ServiceBuilder::new().layer(layer.clone()).service(inner));
    let b = TestClient::new(layer.layer(inner));
    let accept = "application/json, text/event-stream";
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}});
    let session = a
        .post("/mcp")
        .header("accept", accept)
        .json(&init)
        .send()
        .await;
    let session = session.header("mcp-session-id").unwrap().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let res = b
        .post("/mcp")
        .header("accept", accept)
        .header("mcp-session-id", &session)
        .json(&list)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    clock.advance(Duration::from_secs(61));
    let res = b
        .post("/mcp")
        .header("accept", accept)
        .header("mcp-session-id", &session)
        .json(&list)
        .send()
        .await;
    assert_eq!(res.status(), 404, "an expired session must re-initialize");
}
