//! Every MCP method that names a tool, prompt or resource exposes it as its target (#11 item
//! 2, finding 14): a deny rule on a name holds on every method that reaches it, in both eras,
//! including spellings of a URI that normalise onto a denied one. Denied requests reach no
//! upstream; the same methods on an allowed target do.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

fn gateway() -> (
    FakeMcpServer,
    McpFront<agent_gateway_policy::authorize::Authorize<Federation>>,
) {
    let demo = FakeMcpServer::new()
        .with_echo_tool("x")
        .with_echo_tool("ok")
        .with_prompt("x")
        .with_prompt("ok")
        .with_resource("file:///secret/x", "s3cr3t")
        .with_resource("file:///pub/a", "public");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("demo").unwrap(), demo.clone()))
        .build()
        .unwrap();
    let rules = Rules::new()
        .allow("everything-else", "true")
        .deny_targets("no-x", ["demo__x"])
        .deny("no-secrets", r#"target.startsWith("demo+file:///secret/")"#)
        .compile()
        .unwrap();
    let stack = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(rules))
        .service(fed);
    (
        demo,
        McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap()),
    )
}

/// The ways to name the secret resource: plainly, and spellings that normalise onto it.
const SECRET_URIS: [&str; 5] = [
    "demo+file:///secret/x",
    "demo+file:///pub/../secret/x",
    "demo+file:///pub/%2e%2E/secret/./x",
    "demo+file:///%73ecret/x",
    "demo+file:///pub/a/../../secret/x",
];

fn completion(r: Value) -> Value {
    json!({"ref": r, "argument": {"name": "a", "value": "v"}})
}

#[tokio::test]
async fn a_deny_rule_holds_on_every_method_that_names_the_target() {
    let (demo, front) = gateway();
    let mut denied: Vec<(&str, Value)> = vec![
        ("tools/call", json!({"name": "demo__x", "arguments": {}})),
        ("prompts/get", json!({"name": "demo__x"})),
        (
            "completion/complete",
            completion(json!({"type": "ref/prompt", "name": "demo__x"})),
        ),
    ];
    for uri in SECRET_URIS {
        denied.push(("resources/read", json!({ "uri": uri })));
        denied.push((
            "completion/complete",
            completion(json!({"type": "ref/resource", "uri": uri})),
        ));
    }
    let legacy_only: Vec<(&str, Value)> = SECRET_URIS
        .iter()
        .flat_map(|uri| {
            [
                ("resources/subscribe", json!({ "uri": uri })),
                ("resources/unsubscribe", json!({ "uri": uri })),
            ]
        })
        .collect();
    for (era, client) in [
        ("modern", McpClient::modern(front.clone())),
        ("legacy", McpClient::legacy(front.clone())),
    ] {
        let cases = denied
            .iter()
            .chain(legacy_only.iter().filter(|_| era == "legacy"));
        for (method, params) in cases {
            let before = demo.calls();
            let err = client.request(method, params.clone()).await.unwrap_err();
            assert_eq!(err.code(), Some(-32003), "{era} {method} {params}");
            assert_eq!(
                err.status().map(|s| s.as_u16()),
                Some(403),
                "{era} {method}"
            );
            assert_eq!(
                demo.calls(),
                before,
                "{era} {method} {params}: no upstream call"
            );
        }
        // The same methods on allowed targets pass the policy and reach the upstream.
        client
            .call_tool("demo__ok", json!({}))
            .await
            .expect("an allowed tool");
        client
            .request("prompts/get", json!({"name": "demo__ok"}))
            .await
            .expect("an allowed prompt");
        let read = client
            .request(
                "resources/read",
                json!({"uri": "demo+file:///secret/../pub/a"}),
            )
            .await
            .expect("an allowed resource, normalised");
        assert_eq!(read["contents"][0]["uri"], "demo+file:///pub/a");
        let before = demo.calls_of("completion/complete");
        // The fake upstream serves no completions: its own error comes back, past the policy.
        let allowed = client
            .request(
                "completion/complete",
                completion(json!({"type": "ref/prompt", "name": "demo__ok"})),
            )
            .await;
        assert_ne!(allowed.err().and_then(|e| e.code()), Some(-32003));
        assert_eq!(demo.calls_of("completion/complete"), before + 1, "{era}");
        if era == "legacy" {
            for method in ["resources/subscribe", "resources/unsubscribe"] {
                client
                    .request(method, json!({"uri": "demo+file:///pub/a"}))
                    .await
                    .expect("an allowed subscription");
            }
        }
    }
    assert_eq!(demo.calls_of("tools/call"), 2);
    assert_eq!(demo.calls_of("prompts/get"), 2);
    assert_eq!(demo.calls_of("resources/read"), 2);
}

fn listen(uris: &[&str]) -> http::Request<Full<Bytes>> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "subscriptions/listen", "params": {
        "notifications": {"toolsListChanged": true, "resourceSubscriptions": uris},
        "_meta": meta}});
    http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[tokio::test]
async fn a_listen_naming_a_denied_resource_is_refused_whole() {
    let (demo, front) = gateway();
    let client = McpClient::modern(front.clone());
    for uri in SECRET_URIS {
        let raw = client
            .raw(listen(&["demo+file:///pub/a", uri]))
            .await
            .unwrap();
        assert_eq!(raw.status, 403, "{uri}");
        assert_eq!(raw.json()["error"]["code"], -32003, "{uri}");
        assert_eq!(raw.json()["id"], 5);
    }
    assert_eq!(demo.listeners(), 0, "no upstream listen was opened");
    assert_eq!(demo.calls(), 0);
    // Only allowed resources: the stream opens.
    let res = front
        .oneshot(listen(&["demo+file:///pub/a"]))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
}
