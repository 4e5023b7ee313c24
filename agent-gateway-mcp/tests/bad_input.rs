//! Every bad input gets the spec's HTTP status and JSON-RPC code, and no upstream is called.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member, ToolView};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

type Front = McpFront<Federation>;

/// One case: what it is, the request, the status and the JSON-RPC code expected.
type Case = (&'static str, Request<Full<Bytes>>, u16, Option<i64>);

fn stack() -> (Front, [FakeMcpServer; 2]) {
    let a = FakeMcpServer::new()
        .with_echo_tool("echo")
        .with_echo_tool("secret");
    let b = FakeMcpServer::new().with_echo_tool("search");
    let fed = Federation::builder()
        .member(
            Member::new(ServerName::new("a").unwrap(), a.clone())
                .with_view(ToolView::all().exclude(["secret"])),
        )
        .member(Member::new(ServerName::new("b").unwrap(), b.clone()))
        .build()
        .unwrap();
    let config = McpFrontConfig::new("gw", "1")
        .unwrap()
        .with_allowed_origins([HeaderValue::from_static("https://ok.example")])
        .with_allowed_hosts(["127.0.0.1:*", "gw.internal:8443"])
        .with_max_body(2048);
    (McpFront::new(fed, config), [a, b])
}

fn meta() -> Value {
    json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
           "io.modelcontextprotocol/clientCapabilities": {}})
}

/// A request with a raw body and the headers of a good modern request.
fn raw(body: &str, method: Option<&str>) -> Request<Full<Bytes>> {
    let mut req = Request::post("/mcp")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let h = req.headers_mut();
    h.insert(
        "accept",
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2026-07-28"),
    );
    h.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
    if let Some(m) = method {
        h.insert("mcp-method", HeaderValue::from_str(m).unwrap());
    }
    req
}

/// A good modern request, to be broken one way per case.
fn modern(method: &str, mut params: Value, name: Option<&str>) -> Request<Full<Bytes>> {
    params["_meta"] = meta();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = raw(&body.to_string(), Some(method));
    if let Some(n) = name {
        req.headers_mut()
            .insert("mcp-name", HeaderValue::from_str(n).unwrap());
    }
    req
}

/// `req` with its headers edited.
fn with(mut req: Request<Full<Bytes>>, edit: impl FnOnce(&mut HeaderMap)) -> Request<Full<Bytes>> {
    edit(req.headers_mut());
    req
}

fn set(name: &'static str, value: &'static str) -> impl FnOnce(&mut HeaderMap) {
    move |h| {
        h.insert(name, HeaderValue::from_static(value));
    }
}

#[tokio::test]
async fn bad_inputs_get_the_spec_answer_and_reach_no_upstream() {
    let (front, fakes) = stack();
    let call = |name: &str| json!({"name": name, "arguments": {}});
    let list = || modern("tools/list", json!({}), None);
    let no_caps = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
    let old = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01",
                             "io.modelcontextprotocol/clientCapabilities": {}}}});
    let legacy_list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let get = {
        let mut r = list();
        *r.method_mut() = Method::GET;
        r
    };
    let put = {
        let mut r = list();
        *r.method_mut() = Method::PUT;
        r
    };
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            raw(r#"{"jsonrpc":"2.0","#, None),
            400,
            Some(-32700),
        ),
        (
            "batch",
            raw(r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#, None),
            400,
            Some(-32600),
        ),
        (
            "null id",
            raw(r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, None),
            400,
            Some(-32600),
        ),
        (
            "not JSON-RPC 2.0",
            raw(r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#, None),
            400,
            Some(-32600),
        ),
        (
            "params not an object",
            raw(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}"#,
                None,
            ),
            400,
            Some(-32602),
        ),
        (
            "missing _meta",
            raw(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
                Some("tools/list"),
            ),
            400,
            Some(-32602),
        ),
        (
            "missing clientCapabilities",
            raw(&no_caps.to_string(), Some("tools/list")),
            400,
            Some(-32602),
        ),
        (
            "missing MCP-Protocol-Version",
            with(list(), |h| {
                h.remove("mcp-protocol-version");
            }),
            400,
            Some(-32020),
        ),
        (
            "MCP-Protocol-Version mismatches _meta",
            with(list(), set("mcp-protocol-version", "2025-11-25")),
            400,
            Some(-32020),
        ),
        (
            "missing Mcp-Method",
            with(list(), |h| {
                h.remove("mcp-method");
            }),
            400,
            Some(-32020),
        ),
        (
            "mismatched Mcp-Method",
            with(list(), set("mcp-method", "prompts/list")),
            400,
            Some(-32020),
        ),
        (
            "repeated Mcp-Method",
            with(list(), |h| {
                h.append("mcp-method", HeaderValue::from_static("tools/list"));
            }),
            400,
            Some(-32020),
        ),
        (
            "missing Mcp-Name",
            modern("tools/call", call("a__echo"), None),
            400,
            Some(-32020),
        ),
        (
            "mismatched Mcp-Name",
            modern("tools/call", call("a__echo"), Some("b__search")),
            400,
            Some(-32020),
        ),
        (
            "bad base64 in Mcp-Name",
            modern("tools/call", call("a__echo"), Some("=?base64?***?=")),
            400,
            Some(-32020),
        ),
        (
            "unsupported version",
            with(
                raw(&old.to_string(), Some("tools/list")),
                set("mcp-protocol-version", "1900-01-01"),
            ),
            400,
            Some(-32022),
        ),
        ("oversized body", raw(&big, Some("tools/list")), 413, None),
        (
            "wrong Content-Type",
            with(list(), set("content-type", "text/plain")),
            415,
            None,
        ),
        (
            "Accept without SSE",
            with(list(), set("accept", "application/json")),
            406,
            None,
        ),
        (
            "no Accept",
            with(list(), |h| {
                h.remove("accept");
            }),
            406,
            None,
        ),
        (
            "unknown method",
            modern("tools/frobnicate", json!({}), None),
            404,
            Some(-32601),
        ),
        (
            "legacy-only method in modern",
            modern("ping", json!({}), None),
            404,
            Some(-32601),
        ),
        (
            "unknown tool",
            modern("tools/call", call("zz__echo"), Some("zz__echo")),
            200,
            Some(-32602),
        ),
        (
            "tool without a server prefix",
            modern("tools/call", call("echo"), Some("echo")),
            200,
            Some(-32602),
        ),
        (
            "tool hidden by the view",
            modern("tools/call", call("a__secret"), Some("a__secret")),
            200,
            Some(-32602),
        ),
        (
            "invalid cursor",
            modern("tools/list", json!({"cursor": "x"}), None),
            200,
            Some(-32602),
        ),
        (
            "forged session id",
            with(raw(legacy_list, None), |h| {
                h.insert(
                    "mcp-session-id",
                    HeaderValue::from_static("Zm9yZ2VkLXNlc3Npb24taWQtdGhhdC1sb29rcy1yZWFs"),
                );
                h.insert(
                    "mcp-protocol-version",
                    HeaderValue::from_static("2025-11-25"),
                );
            }),
            404,
            Some(-32600),
        ),
        (
            "legacy request without a session",
            with(
                raw(legacy_list, None),
                set("mcp-protocol-version", "2025-11-25"),
            ),
            400,
            Some(-32600),
        ),
        (
            "notification in a forged session",
            with(
                raw(
                    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                    None,
                ),
                |h| {
                    h.insert("mcp-session-id", HeaderValue::from_static("Zm9yZ2Vk"));
                },
            ),
            404,
            None,
        ),
        (
            "notification with a mismatched Mcp-Method",
            raw(
                r#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#,
                Some("notifications/progress"),
            ),
            400,
            Some(-32020),
        ),
        (
            "bad Host (DNS rebinding)",
            with(list(), set("host", "attacker.example:8443")),
            403,
            None,
        ),
        (
            "allowed host name on another port",
            with(list(), set("host", "gw.internal:9999")),
            403,
            None,
        ),
        (
            "bad Origin",
            with(list(), set("origin", "https://evil.example")),
            403,
            None,
        ),
        (
            "forged gateway requestState",
            modern(
                "tools/call",
                json!({"name": "a__echo", "requestState": "agw-parked.00ff", "inputResponses": {}}),
                Some("a__echo"),
            ),
            200,
            Some(-32602),
        ),
        (
            "cursor of another listing",
            modern(
                "tools/list",
                // base64url of {"m":"prompts/list","p":{"a":"1"}}
                json!({"cursor": "eyJtIjoicHJvbXB0cy9saXN0IiwicCI6eyJhIjoiMSJ9fQ"}),
                None,
            ),
            200,
            Some(-32602),
        ),
        (
            "resuming in a forged session",
            {
                let mut r = with(raw("", None), |h| {
                    h.insert("accept", HeaderValue::from_static("text/event-stream"));
                    h.insert("mcp-session-id", HeaderValue::from_static("Zm9yZ2Vk"));
                    h.insert("last-event-id", HeaderValue::from_static("abc-1"));
                });
                *r.method_mut() = Method::GET;
                r
            },
            404,
            None,
        ),
        // A GET stream belongs to a legacy session: none named, 400 as for a POST.
        ("GET without a session", get, 400, None),
        ("PUT", put, 405, None),
        (
            "client POSTs a response",
            raw(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, None),
            400,
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (what, req, status, code) in cases {
        let res = front.clone().oneshot(req).await.unwrap();
        let got_status = res.status().as_u16();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let got_code = json["error"]["code"].as_i64();
        if got_status != status || (code.is_some() && got_code != code) {
            failures.push(format!(
                "{what}: got {got_status} {got_code:?}, want {status} {code:?}: {json}"
            ));
        }
        if code.is_none() && json["id"] != Value::Null {
            failures.push(format!(
                "{what}: a transport error names no request id: {json}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        fakes[0].calls() + fakes[1].calls(),
        0,
        "no bad input reaches an upstream"
    );

    // The same stack serves a good request, so the zero above means something.
    let ok = front
        .oneshot(modern("tools/call", call("a__echo"), Some("a__echo")))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(fakes[0].calls(), 1);
}

#[tokio::test]
async fn an_allowed_origin_passes_and_lists_both_upstreams() {
    let (front, fakes) = stack();
    let req = with(
        modern("tools/list", json!({}), None),
        set("origin", "https://ok.example"),
    );
    let res = front.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let names: Vec<_> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("a__echo"), json!("b__search")]);
    assert_eq!(
        fakes[0].calls_of("tools/list") + fakes[1].calls_of("tools/list"),
        2
    );
}
