//! A run's loop in warn mode (#14 item 6) on every protocol: the call that trips the rule
//! passes, its answer carries `agw-run-warning: <rule id>`, and its audit record names the
//! rule in `warnings`. MCP in both eras, A2A on both bindings (plain and streamed), OpenAI and
//! Anthropic (plain and streamed). The call before it carries neither.

#![allow(clippy::unwrap_used)]

mod run_fronts;

use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use agent_gateway_core::Secret;
use agent_gateway_core::run::{RUN_BUDGET_HEADER, RUN_ID_HEADER};
use agent_gateway_core::store::MemoryStore;
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_policy::audit::{
    self, AuditLayer, AuditLog, AuditOptions, AuditRecord, JsonlSink, Rotation,
};
use agent_gateway_policy::run::{
    Hop, HopKey, HopKeys, LoopMode, Loops, RULE_HOP_CYCLE, RULE_REPEATED_MODEL, RULE_REPEATED_TOOL,
    RUN_WARNING_HEADER, RunLayer, RunLimits,
};
use http::HeaderValue;
use serde_json::json;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use run_fronts::{a2a_client, a2a_message, a2a_travel, llm_client, llm_gpt, mcp_front, mcp_fs};

fn keys() -> HopKeys {
    HopKeys::new(HopKey::new("k1", Secret::new(vec![7; 32])).unwrap())
}

/// A run layer that warns on the second identical call (and on a hop cycle).
fn warn_runs() -> RunLayer {
    let loops = Loops {
        mode: LoopMode::Warn,
        repeats: NonZeroU64::new(2).unwrap(),
        ..Loops::default()
    };
    RunLayer::new(MemoryStore::new())
        .with_loops(Some(loops))
        .with_keys(keys())
}

fn log(name: &str) -> (PathBuf, AuditLog) {
    let dir = std::env::temp_dir().join(format!("agw-warn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sink = JsonlSink::open(&dir, Rotation::default()).unwrap();
    (dir, AuditLog::start(sink, AuditOptions::new()).unwrap())
}

/// The warnings of the records of `action`, sorted (a stream's record is written when it
/// ends).
async fn warnings(dir: &PathBuf, log: &AuditLog, action: &str) -> Vec<Vec<String>> {
    log.flush().await.unwrap();
    let records: Vec<AuditRecord> = audit::read(dir).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    let mut warnings: Vec<Vec<String>> = records
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| r.warnings)
        .collect();
    warnings.sort();
    warnings
}

fn header(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(RUN_WARNING_HEADER.as_header_name())
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn mcp_warns_of_a_repeated_tool_call_in_both_eras() {
    for era in ["modern", "legacy"] {
        let (dir, log) = log(&format!("mcp-{era}"));
        let (fs, fed) = mcp_fs();
        let stack = ServiceBuilder::new()
            .layer(AuditLayer::new(log.clone()))
            .layer(warn_runs())
            .service(fed);
        let front = mcp_front(BoxCloneSyncService::new(stack));
        // The warning header of every answer, in order, as the client receives it.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let front = ServiceBuilder::new()
            .map_request(move |mut req: http::Request<_>| {
                req.headers_mut()
                    .insert(RUN_ID_HEADER, HeaderValue::from_static("run-mcp"));
                req
            })
            .map_response(move |res: http::Response<_>| {
                sink.lock().unwrap().push(header(res.headers()));
                res
            })
            .service(front);
        let client = match era {
            "modern" => McpClient::modern(front),
            _ => McpClient::legacy(front),
        };
        let args = json!({"path": "/etc/motd"});
        client
            .call_tool("fs__read_file", args.clone())
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().last().unwrap(), &None, "{era}");
        let out = client.call_tool("fs__read_file", args).await.unwrap();
        assert!(out["content"].is_array(), "{era}: the call passes: {out}");
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(last.as_deref(), Some(RULE_REPEATED_TOOL), "{era}");
        assert_eq!(fs.calls_of("tools/call"), 2, "{era}");
        assert_eq!(
            warnings(&dir, &log, "tool_call").await,
            [vec![], vec![RULE_REPEATED_TOOL.to_owned()]],
            "{era}"
        );
    }
}

#[tokio::test]
async fn a2a_warns_of_a_hop_cycle_on_both_bindings_plain_and_streamed() {
    let (dir, log) = log("a2a");
    let (fake, router) = a2a_travel();
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()))
        .layer(warn_runs())
        .service(router);
    let client = a2a_client(BoxCloneSyncService::new(stack));
    // The budget header `travel` got when the run called it: calling `travel` with it again
    // is the hop travel → travel, a cycle.
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let hop = keys().sign(&Hop {
        run: "run-a2a".into(),
        depth: 1,
        exp,
        path: vec!["travel".into()],
        rem: RunLimits::new(),
        deadline_ms: None,
        id: "hop-1".into(),
    });
    let message = a2a_message;
    let rpc = |n: u32, method: &str| json!({"jsonrpc": "2.0", "id": n, "method": method, "params": message(n)});
    // Outside any cycle: no warning.
    let res = client
        .post("/travel")
        .header("a2a-version", "1.0")
        .header(RUN_ID_HEADER, "run-a2a")
        .json(&rpc(1, "SendMessage"))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(header(res.headers()), None);
    let cases = [
        ("/travel", rpc(2, "SendMessage")),
        ("/travel", rpc(3, "SendStreamingMessage")),
        ("/travel/message:send", message(4)),
        ("/travel/message:stream", message(5)),
    ];
    for (path, body) in cases {
        let res = client
            .post(path)
            .header("a2a-version", "1.0")
            .header(RUN_BUDGET_HEADER, hop.as_str())
            .json(&body)
            .send()
            .await;
        assert_eq!(res.status(), 200, "{path}: {}", res.text());
        assert_eq!(
            header(res.headers()).as_deref(),
            Some(RULE_HOP_CYCLE),
            "{path}"
        );
        assert!(!res.text().contains("error"), "{path}: {}", res.text());
    }
    assert_eq!(fake.calls(), 5, "every call passed");
    let cycle = vec![RULE_HOP_CYCLE.to_owned()];
    assert_eq!(
        warnings(&dir, &log, "agent_message").await,
        [vec![], cycle.clone(), cycle.clone(), cycle.clone(), cycle]
    );
}

#[tokio::test]
async fn llm_warns_of_a_repeated_model_request_in_both_dialects_plain_and_streamed() {
    let (dir, log) = log("llm");
    let (fake, router) = llm_gpt();
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()))
        .layer(warn_runs())
        .service(router);
    let client = llm_client(BoxCloneSyncService::new(stack));
    let messages = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (
            "/v1/chat/completions",
            json!({"model": "gpt", "messages": messages}),
        ),
        (
            "/v1/chat/completions",
            json!({"model": "gpt", "stream": true, "messages": messages}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt", "max_tokens": 16, "messages": messages}),
        ),
        (
            "/v1/messages",
            json!({"model": "gpt", "max_tokens": 16, "stream": true, "messages": messages}),
        ),
    ];
    for (path, body) in &cases {
        for repeat in [false, true] {
            let res = client
                .post(path)
                .header(RUN_ID_HEADER, "run-llm")
                .json(body)
                .send()
                .await;
            assert_eq!(res.status(), 200, "{path} {body}: {}", res.text());
            let want = repeat.then_some(RULE_REPEATED_MODEL);
            assert_eq!(header(res.headers()).as_deref(), want, "{path} {body}");
            // The whole answer: its text, or its stream to the end (the text comes in pieces).
            let ended = ["\"ok\"", "[DONE]", "message_stop"];
            let text = res.text();
            assert!(ended.iter().any(|e| text.contains(e)), "{path}: {text}");
        }
    }
    assert_eq!(fake.calls(), 8, "every call passed");
    let repeated = vec![RULE_REPEATED_MODEL.to_owned()];
    let mut want: Vec<Vec<String>> = (0..4).flat_map(|_| [vec![], repeated.clone()]).collect();
    want.sort();
    assert_eq!(warnings(&dir, &log, "model_call").await, want);
}
