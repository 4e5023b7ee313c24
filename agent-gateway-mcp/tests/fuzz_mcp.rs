//! Property tests of MCP's decoders: method names, sealed session ids, and the front's whole
//! request decoding (headers `Mcp-Session-Id`, `Mcp-Protocol-Version`, `Mcp-Method`,
//! `Mcp-Name`, `Mcp-Param-*`, `_meta`, parked `requestState`, the JSON-RPC body).
//!
//! Properties: no panic; bad input gets a 4xx or a JSON-RPC error and reaches no upstream; no
//! 5xx; a session id that is not exactly one the gateway sealed never opens.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../agent-gateway-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;

use std::time::Duration;

use agent_gateway_core::jsonrpc::{Message, Payload};
use agent_gateway_core::{Secret, SystemClock};
use agent_gateway_mcp::McpMethod;
use agent_gateway_mcp::era::Era;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::session::{Sealer, SessionKey};
use agent_gateway_mcp::testkit::FakeMcpServer;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use bytes::Bytes;
use fuzz_support::{edits, json, mutate, run_async, text};
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_mcp.txt";

/// How long a response body may take before it is taken for a stream and left unread. The
/// fake upstreams answer at once; only a listen stream stays open.
const BODY_WAIT: Duration = Duration::from_secs(2);

const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";

fn sealer() -> Sealer {
    Sealer::new(
        SessionKey::new(Secret::new([9; 32])),
        Duration::from_secs(3600),
        SystemClock::shared(),
    )
}

fn stack() -> (McpFront<Federation>, [FakeMcpServer; 2]) {
    let a = FakeMcpServer::new().with_echo_tool("echo");
    let b = FakeMcpServer::new()
        .with_echo_tool("search")
        .with_resource("file:///r", "text");
    let fed = Federation::builder()
        .member(Member::new(ServerName::new("a").unwrap(), a.clone()))
        .member(Member::new(ServerName::new("b").unwrap(), b.clone()))
        .build()
        .unwrap();
    let config = McpFrontConfig::new("gw", "1")
        .unwrap()
        .with_session_key(sealer())
        .with_allowed_hosts(["127.0.0.1:*"])
        .with_max_body(4096);
    (McpFront::new(fed, config), [a, b])
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_mcp_method_names_round_trip(name in prop_oneof![text(), any::<String>()]) {
        let method = McpMethod::parse(&name);
        prop_assert_eq!(method.as_str(), name.as_str());
        // Every question about a method answers without panicking, in both eras.
        let _ = (method.action(), method.target_key(), method.name_header_key());
        let _ = (method.has_arguments(), method.is_forwarded(), method.own_era());
        let _ = (method.is_cacheable(), method.counts_as_step());
        let _ = (method.is_admission_only(Era::Modern), method.is_admission_only(Era::Legacy));
    }

    #[test]
    fn fuzz_mcp_session_ids_forged_never_open(id in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{0,200}",
        "[A-Za-z0-9_-]{1000,1100}",
    ]) {
        prop_assert!(sealer().open(&id).is_err());
    }

    #[test]
    fn fuzz_mcp_session_ids_bit_flips_refused(
        caps in json(),
        version in text(),
        flips in prop::collection::vec((any::<usize>(), 0u8..8), 1..4),
    ) {
        let sealer = sealer();
        let id = sealer.seal_with(&version, &caps).unwrap();
        let opened = sealer.open(&id).unwrap();
        prop_assert_eq!(opened.version(), version.as_str());
        let mut bytes = id.clone().into_bytes();
        for (i, bit) in flips {
            let i = i % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        if let Ok(forged) = String::from_utf8(bytes) && forged != id {
            prop_assert!(sealer.open(&forged).is_err(), "{forged} opened");
        }
    }
}

/// Good bodies of every shape the front decodes, the seeds of the mutations.
fn seeds() -> Vec<String> {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}});
    [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": "c", "method": "tools/call",
               "params": {"name": "a__echo", "arguments": {"x": 1}, "_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "a__echo", "requestState": "agw-parked.00ff",
                          "inputResponses": {"r1": {"result": {}}}, "_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read",
               "params": {"uri": "file:///r", "_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "initialize",
               "params": {"protocolVersion": LEGACY, "capabilities": {"sampling": {}},
                          "clientInfo": {"name": "f", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect()
}

/// A generated request body: known and unknown methods, `_meta` of any shape, tool names,
/// `requestState`s with and without the gateway's prefix.
fn generated_body() -> impl Strategy<Value = String> {
    let method = prop_oneof![
        prop::sample::select(vec![
            "tools/list",
            "tools/call",
            "prompts/list",
            "prompts/get",
            "resources/read",
            "resources/list",
            "completion/complete",
            "server/discover",
            "ping",
            "initialize",
            "logging/setLevel",
            "notifications/cancelled",
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    let meta = prop_oneof![
        Just(json!({"io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientCapabilities": {}})),
        (json(), json()).prop_map(|(v, c)| json!({
            "io.modelcontextprotocol/protocolVersion": v,
            "io.modelcontextprotocol/clientCapabilities": c})),
        json(),
    ];
    let state = prop_oneof![
        text(),
        "agw-parked\\.[0-9a-f]{0,40}",
        json().prop_map(|v| v.to_string())
    ];
    (
        method,
        meta,
        prop::option::of(text()),
        prop::option::of(state),
        json(),
        any::<i32>(),
    )
        .prop_map(|(method, meta, name, state, args, id)| {
            let mut params = json!({"_meta": meta, "arguments": args});
            if let Some(name) = name {
                params["name"] = json!(format!("a__{name}"));
                params["uri"] = json!(name);
            }
            if let Some(state) = state {
                params["requestState"] = json!(state);
            }
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
        })
}

/// A header edit: set a value (one of the meaningful ones or arbitrary bytes) or remove it.
fn header_edits() -> impl Strategy<Value = Vec<(String, Option<Vec<u8>>)>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "accept",
            "content-type",
            "mcp-protocol-version",
            "mcp-method",
            "mcp-name",
            "mcp-session-id",
            "host",
            "origin",
            "last-event-id",
            "mcp-param-region",
        ])
        .prop_map(str::to_owned),
        "mcp-param-[a-z-]{1,8}",
    ];
    let value = prop_oneof![
        2 => prop::sample::select(vec![
            MODERN, LEGACY, "tools/list", "tools/call", "a__echo", "=?base64?YV9fZWNobw==?=",
            "=?base64?***?=", "application/json", "text/event-stream",
            "application/json, text/event-stream", "127.0.0.1:1", "1900-01-01",
        ])
        .prop_map(|v| Some(v.as_bytes().to_vec())),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
        1 => Just(None),
    ];
    prop_oneof![Just(vec![]), prop::collection::vec((name, value), 1..5)]
}

/// One request to the front, as generated.
#[derive(Clone)]
struct Case {
    method: Method,
    body: Vec<u8>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(n, v)| (n, v.as_deref().map(lossy)))
            .collect();
        f.debug_struct("Case")
            .field("method", &self.method)
            .field("body", &lossy(&self.body))
            .field("headers", &headers)
            .finish()
    }
}

fn case() -> impl Strategy<Value = Case> {
    let body = prop_oneof![
        2 => (prop::sample::select(seeds()), prop_oneof![Just(vec![]), edits()]).prop_map(|(s, e)| mutate(s.as_bytes(), &e)),
        2 => generated_body().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ];
    let method = prop_oneof![
        8 => Just(Method::POST),
        1 => Just(Method::GET),
        1 => Just(Method::DELETE),
    ];
    (method, body, header_edits()).prop_map(|(method, body, headers)| Case {
        method,
        body,
        headers,
    })
}

/// The request a case describes: the headers a good client would send with its body (the
/// mirrored method, name and version), then the case's edits.
fn request(case: &Case) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(case.method.clone())
        .uri("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000")
        .body(Full::new(Bytes::from(case.body.clone())))
        .unwrap();
    let body: Value = serde_json::from_slice(&case.body).unwrap_or_default();
    let mirrored = [
        ("mcp-method", &body["method"]),
        ("mcp-name", &body["params"]["name"]),
        (
            "mcp-protocol-version",
            &body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
        ),
    ];
    for (name, value) in mirrored {
        if let Some(v) = value.as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
            req.headers_mut().insert(name, v);
        }
    }
    for (name, value) in &case.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        match value.as_deref().map(HeaderValue::from_bytes) {
            Some(Ok(v)) => {
                req.headers_mut().append(name, v);
            }
            Some(Err(_)) => {}
            None => {
                req.headers_mut().remove(name);
            }
        }
    }
    req
}

/// The codes only the gateway answers with: a malformed envelope, a missing or mismatched
/// header, an unsupported version.
const GATEWAY_CODES: &[i64] = &[-32700, -32600, -32020, -32022];

/// The JSON-RPC error codes the front answers bad input with.
const CODES: &[i64] = &[-32700, -32600, -32601, -32602, -32020, -32022, -32002];

#[test]
fn fuzz_mcp_front_decoding() {
    let (front, fakes) = stack();
    run_async(REGRESSIONS, case(), |case| {
        let front = front.clone();
        let fakes = fakes.clone();
        async move {
            let before = fakes[0].calls() + fakes[1].calls();
            let res = front.oneshot(request(&case)).await.unwrap();
            let status = res.status().as_u16();
            prop_assert!(
                [200, 202, 400, 403, 404, 405, 406, 413, 415].contains(&status),
                "status {status}"
            );
            let is_json = res
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            let Ok(body) = tokio::time::timeout(BODY_WAIT, res.into_body().collect()).await else {
                return Ok(()); // a stream left open: a listen
            };
            let body = body.unwrap().to_bytes();
            let code = if is_json && !body.is_empty() {
                let Ok(Message::Response(reply)) = Message::from_slice(&body) else {
                    return Err(TestCaseError::fail(format!(
                        "not a JSON-RPC response: {body:?}"
                    )));
                };
                match reply.payload {
                    Payload::Error(e) => Some(e.code),
                    Payload::Result(_) => None,
                }
            } else {
                None
            };
            // A transport or envelope refusal is the gateway's own: no upstream saw the
            // request. (-32602 and -32601 may be an upstream's answer, relayed.)
            let refused_here = status >= 400 && code.is_none_or(|c| GATEWAY_CODES.contains(&c));
            if refused_here {
                prop_assert_eq!(
                    fakes[0].calls() + fakes[1].calls(),
                    before,
                    "bad input reached an upstream"
                );
            }
            if let Some(code) = code
                && status >= 400
            {
                prop_assert!(CODES.contains(&code), "code {code} for status {status}");
            }
            Ok(())
        }
    });
}

/// A legacy request in the session `id`.
fn in_session(id: &HeaderValue) -> Request<Full<Bytes>> {
    Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", LEGACY)
        .header("host", "127.0.0.1:3000")
        .header("mcp-session-id", id.clone())
        .body(Full::new(Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        )))
        .unwrap()
}

#[test]
fn fuzz_mcp_front_session_id_bit_flips_refused() {
    let (front, fakes) = stack();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let init = Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000")
        .body(Full::new(Bytes::from(seeds()[4].clone())))
        .unwrap();
    let res = rt.block_on(front.clone().oneshot(init)).unwrap();
    let id = res
        .headers()
        .get("mcp-session-id")
        .expect("a session id")
        .clone();
    // The id as sealed is served, so a refusal below is the flip's doing.
    let ok = rt.block_on(front.clone().oneshot(in_session(&id))).unwrap();
    assert_eq!(ok.status(), 200);
    let served = fakes[0].calls() + fakes[1].calls();
    assert!(served > 0);
    drop(rt);

    let flips = prop::collection::vec((any::<usize>(), 0u8..8), 1..4);
    run_async(REGRESSIONS, flips, |flips| {
        let (front, fakes, id) = (front.clone(), fakes.clone(), id.clone());
        async move {
            let mut bytes = id.as_bytes().to_vec();
            for (i, bit) in flips {
                let i = i % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            let Ok(forged) = HeaderValue::from_bytes(&bytes) else {
                return Ok(());
            };
            if forged == id {
                return Ok(());
            }
            let res = front.oneshot(in_session(&forged)).await.unwrap();
            prop_assert!(
                [400, 404].contains(&res.status().as_u16()),
                "status {}",
                res.status()
            );
            prop_assert_eq!(fakes[0].calls() + fakes[1].calls(), served);
            Ok(())
        }
    });
}
