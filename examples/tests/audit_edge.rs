//! Requests refused at the gateway's edge, before the policy stack (401 before the body, a
//! rebound Host, a body too large, a wrong content type or Accept), each leave one audit
//! record, in the same chain as the calls the stack records, and `verify` passes.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::{app, audit, policy::Policies};
use agent_gateway_policy::audit::{read, verify};
use serde_json::json;

const KEY: &str = "Bearer agw-demo-key";
/// The demo key's principal id, as records carry it.
const DEMO: &str = "api_key::local:demo";

#[tokio::test]
async fn each_edge_refusal_leaves_one_record_and_the_chain_verifies() {
    let dir = std::env::temp_dir().join(format!("agw-audit-edge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = EMBEDDED_DEFAULT
        .replacen("path = \"audit\"", &format!("path = {:?}", dir), 1)
        .replacen("body_limit_bytes = 4194304", "body_limit_bytes = 1024", 1);
    assert_ne!(
        text, EMBEDDED_DEFAULT,
        "the default [audit] or [server] moved"
    );
    let config = Config::from_toml_str(&text).unwrap();
    let layer = audit::open(config.audit.as_ref().unwrap()).unwrap();
    let log = layer.log().clone();
    let policies = Policies::from_config(&config)
        .await
        .unwrap()
        .with_audit(layer);
    let client = TestClient::new(app::router(&config, &policies).unwrap());
    let rpc = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let chat =
        json!({"model": "demo", "messages": [{"role": "user", "content": "x".repeat(2048)}]});

    // (request, status, protocol, action, error kind, caller): one row per edge refusal. The
    // action is what the request line tells, `unknown` where only the body would.
    let rows = [
        (
            client
                .post("/mcp")
                .header("host", "localhost")
                .header("content-type", "application/json")
                .body(rpc.clone()),
            401,
            "mcp",
            "unknown",
            "unauthenticated",
            None,
        ),
        (
            client
                .post("/v1/chat/completions")
                .header("host", "evil.example")
                .header("authorization", KEY)
                .json(&json!({})),
            403,
            "llm",
            "model_call",
            "forbidden",
            None,
        ),
        (
            client
                .post("/v1/chat/completions")
                .header("host", "localhost")
                .header("authorization", KEY)
                .json(&chat),
            413,
            "llm",
            "model_call",
            "payload_too_large",
            Some(DEMO),
        ),
        (
            client
                .post("/mcp")
                .header("host", "localhost")
                .header("authorization", KEY)
                .header("content-type", "text/plain")
                .header("accept", "application/json, text/event-stream")
                .body(rpc.clone()),
            415,
            "mcp",
            "unknown",
            "unsupported_media_type",
            Some(DEMO),
        ),
        (
            client
                .post("/mcp")
                .header("host", "localhost")
                .header("authorization", KEY)
                .header("content-type", "application/json")
                .header("accept", "text/plain")
                .body(rpc.clone()),
            406,
            "mcp",
            "unknown",
            "not_acceptable",
            Some(DEMO),
        ),
        (
            client.get("/mcp").header("host", "localhost"),
            401,
            "mcp",
            "protocol",
            "unauthenticated",
            None,
        ),
        (
            client
                .post("/a2a/echo/message:send")
                .header("host", "localhost")
                .json(&json!({})),
            401,
            "a2a",
            "agent_message",
            "unauthenticated",
            None,
        ),
        (
            client
                .post("/a2a/echo")
                .header("host", "localhost")
                .json(&json!({})),
            401,
            "a2a",
            "unknown",
            "unauthenticated",
            None,
        ),
    ];
    let refusals = rows.len();
    let mut expected = Vec::new();
    for (req, status, protocol, action, kind, caller) in rows {
        let res = req.send().await;
        assert_eq!(res.status(), status, "{}", res.text());
        expected.push((protocol, action, kind, caller));
    }
    // A call the stack itself answers with an error is recorded by the stack, once: the edge
    // leaves it alone.
    let res = client
        .post("/v1/chat/completions")
        .header("host", "localhost")
        .header("authorization", KEY)
        .json(&json!({"model": "no-such-model", "messages": []}))
        .send()
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());

    log.flush().await.unwrap();
    let report = verify(&dir, None).unwrap();
    assert_eq!(report.records, refusals as u64 + 1);
    let records = read(&dir).unwrap();
    for (record, (protocol, action, kind, caller)) in records.iter().zip(&expected) {
        assert_eq!(
            (record.decision.as_str(), record.outcome.as_str()),
            ("deny", "denied"),
            "{record:?}"
        );
        assert_eq!(record.protocol, *protocol, "{record:?}");
        assert_eq!(record.action, *action, "{record:?}");
        assert_eq!(record.error_kind.as_deref(), Some(*kind), "{record:?}");
        assert_eq!(
            record.caller.as_ref().map(|c| c.principal.as_str()),
            *caller,
            "{record:?}"
        );
    }
    let stack = &records[refusals];
    assert_eq!(
        (stack.protocol.as_str(), stack.action.as_str()),
        ("llm", "model_call")
    );
    assert_eq!(stack.target.as_deref(), Some("no-such-model"));
    std::fs::remove_dir_all(&dir).unwrap();
}
