//! Property test of `Mcp-Param-*` headers: a tool declares three mirrored arguments, and
//! calls come with those arguments of any value and the headers mirrored faithfully, left
//! out, garbled, repeated or base64-encoded wrongly.
//!
//! Properties: no panic; a faithful mirror is served; a refusal is `-32020` and reaches no
//! upstream; and whatever is served, the headers the upstream gets say what the arguments say.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../agent-gateway-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::sync::{Arc, Mutex};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Message, Payload};
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use fuzz_support::{run_async, text};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_mcp_params.txt";

/// The declared headers: (header, argument).
const DECLARED: [(&str, &str); 3] = [
    ("mcp-param-region", "region"),
    ("mcp-param-priority", "priority"),
    ("mcp-param-dry-run", "dry"),
];

/// The param headers of each call that reached the upstream.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A front over one upstream `a` with tool `t`, which declares the three headers.
fn stack() -> (McpFront<Federation>, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let upstream = tower::service_fn(move |req: UpstreamRequest| {
        let log = log.clone();
        async move {
            let result = match req.method_name() {
                "tools/list" => json!({"tools": [{"name": "t", "inputSchema": {"type": "object",
                    "properties": {
                        "region": {"type": "string", "x-mcp-header": "Region"},
                        "priority": {"type": "integer", "x-mcp-header": "Priority"},
                        "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}}}}]}),
                _ => {
                    let headers = req
                        .param_headers()
                        .iter()
                        .map(|(n, v)| {
                            (
                                n.to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    log.lock().unwrap().push(headers);
                    json!({"content": [{"type": "text", "text": "ok"}]})
                }
            };
            let Value::Object(result) = result else {
                unreachable!("an object")
            };
            Ok::<Map<String, Value>, BoxError>(result)
        }
    });
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("a").unwrap(), upstream))
        .build()
        .unwrap();
    let config = McpFrontConfig::new("gw", "1")
        .unwrap()
        .with_allowed_hosts(["127.0.0.1:*"]);
    (McpFront::new(fed, config), seen)
}

/// How a declared header is sent.
#[derive(Debug, Clone)]
enum Mirror {
    /// As a client must: plain for numbers and booleans, base64 for text.
    Faithful,
    Absent,
    Garbled(Vec<u8>),
    Twice,
    /// Plain text, whatever the value (not faithful for text with spaces or non-ASCII).
    Plain,
}

fn mirror() -> impl Strategy<Value = Mirror> {
    prop_oneof![
        6 => Just(Mirror::Faithful),
        1 => Just(Mirror::Absent),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(Mirror::Garbled),
        1 => Just(Mirror::Twice),
        1 => Just(Mirror::Plain),
    ]
}

/// A value for an argument: of its declared type mostly, of any other sometimes.
fn argument() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        3 => text().prop_map(Value::from),
        2 => any::<i64>().prop_map(Value::from),
        2 => any::<bool>().prop_map(Value::from),
        1 => Just(json!(1.5)),
        1 => Just(json!({"x": 1})),
    ])
}

/// The faithful header text for an argument, `None` when no header may be sent.
fn faithful(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(format!("=?base64?{}?=", STANDARD.encode(s))),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text a header says: decoded from base64 if it is so marked.
fn said(header: &str) -> Option<String> {
    let text = header.trim();
    match text
        .strip_prefix("=?base64?")
        .and_then(|t| t.strip_suffix("?="))
    {
        Some(b64) => String::from_utf8(STANDARD.decode(b64).ok()?).ok(),
        None => Some(text.to_owned()),
    }
}

/// What an argument says as header text: the string, the integer, the boolean.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn call(args: &Map<String, Value>, mirrors: &[Mirror]) -> Request<Full<Bytes>> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "a__t", "arguments": args, "_meta": meta}});
    let mut req = modern(&body, "tools/call");
    req.headers_mut()
        .insert("mcp-name", HeaderValue::from_static("a__t"));
    for ((header, arg), mirror) in DECLARED.iter().zip(mirrors) {
        let value = args.get(*arg);
        let faithful = value.and_then(faithful);
        let sent: Vec<Vec<u8>> = match mirror {
            Mirror::Faithful => faithful.into_iter().map(String::into_bytes).collect(),
            Mirror::Absent => vec![],
            Mirror::Garbled(bytes) => vec![bytes.clone()],
            Mirror::Twice => faithful
                .into_iter()
                .flat_map(|f| [f.clone().into_bytes(), f.into_bytes()])
                .collect(),
            Mirror::Plain => value
                .and_then(as_text)
                .into_iter()
                .map(String::into_bytes)
                .collect(),
        };
        for v in sent {
            if let Ok(v) = HeaderValue::from_bytes(&v) {
                req.headers_mut().append(*header, v);
            }
        }
    }
    req
}

fn modern(body: &Value, method: &'static str) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("host", "127.0.0.1:3000")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[test]
fn fuzz_mcp_param_headers() {
    let (front, seen) = stack();
    let strategy = (
        argument(),
        argument(),
        argument(),
        prop::collection::vec(mirror(), 3),
    );
    run_async(REGRESSIONS, strategy, |(region, priority, dry, mirrors)| {
        let (front, seen) = (front.clone(), seen.clone());
        async move {
            // The federation learns the declarations from a listing.
            let list = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list", "params": {"_meta":
                {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                 "io.modelcontextprotocol/clientCapabilities": {}}}});
            let listed = front
                .clone()
                .oneshot(modern(&list, "tools/list"))
                .await
                .unwrap();
            prop_assert_eq!(listed.status(), 200);
            let args: Map<String, Value> =
                [("region", region), ("priority", priority), ("dry", dry)]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                    .collect();
            let before = seen.lock().unwrap().len();
            let res = front.oneshot(call(&args, &mirrors)).await.unwrap();
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let Ok(Message::Response(reply)) = Message::from_slice(&body) else {
                return Err(TestCaseError::fail(format!(
                    "not a JSON-RPC response: {body:?}"
                )));
            };
            let calls = seen.lock().unwrap()[before..].to_vec();
            // Every argument of its declared type: a string, an integer, a boolean.
            let typed = args.get("region").is_none_or(Value::is_string)
                && args
                    .get("priority")
                    .is_none_or(|v| v.is_i64() || v.is_u64())
                && args.get("dry").is_none_or(Value::is_boolean);
            let all_faithful = mirrors.iter().all(|m| matches!(m, Mirror::Faithful));
            match reply.payload {
                Payload::Error(e) => {
                    prop_assert!(calls.is_empty(), "a refused call reached the upstream");
                    prop_assert!(!(all_faithful && typed), "a faithful mirror refused: {e:?}");
                    prop_assert!(status == 400 || status == 200, "status {status}");
                }
                Payload::Result(_) => {
                    prop_assert_eq!(calls.len(), 1);
                    // What the upstream is told agrees with the arguments.
                    for (header, value) in &calls[0] {
                        let arg = DECLARED.iter().find(|(h, _)| h == header).map(|(_, a)| *a);
                        let Some(arg) = arg else { continue };
                        prop_assert_eq!(said(value), args.get(arg).and_then(as_text), "{}", header);
                    }
                }
            }
            Ok(())
        }
    });
}
