use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_gateway_core::response::{PolicyHeaders, Reply};
use agent_gateway_core::run::{RUN_BUDGET_HEADER, RUN_ID_HEADER};
use agent_gateway_core::store::MemoryStore;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{
    Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind, ManualClock, RunId, Secret,
    Usage,
};
use http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tower::{Layer, Service, ServiceExt};

use super::*;
use crate::quota::tests::Down;

fn keys() -> HopKeys {
    HopKeys::new(HopKey::new("k1", Secret::new(vec![7; 32])).unwrap())
}

/// Every call's headers and run id, as the upstream saw them, and its reply.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<SeenCall>>>);

/// One call's headers and run id.
type SeenCall = (HeaderMap, Option<RunId>);

impl Seen {
    fn upstream(
        &self,
        usage: Usage,
    ) -> FakeUpstream<impl Fn(Call) -> Result<Reply, BoxError> + Clone + use<>> {
        let seen = self.clone();
        FakeUpstream::new(move |call: Call| {
            let mut calls = seen.0.lock().unwrap();
            calls.push((call.headers().clone(), call.run_id().cloned()));
            Ok::<_, BoxError>(Reply::with_usage(json!("ok"), usage.clone()))
        })
    }

    fn last_header(&self) -> HeaderValue {
        let calls = self.0.lock().unwrap();
        calls.last().unwrap().0[RUN_BUDGET_HEADER].clone()
    }

    fn last_run(&self) -> Option<RunId> {
        self.0.lock().unwrap().last().unwrap().1.clone()
    }
}

fn call(protocol: &'static str, action: Action, target: &str, args: Value) -> Call {
    Call::new(action, args)
        .with_protocol(protocol)
        .with_target(target)
}

fn with_header(mut call: Call, name: &'static str, value: HeaderValue) -> Call {
    call.headers_mut().insert(name, value);
    call
}

fn in_run(call: Call, run: &'static str) -> Call {
    with_header(call, RUN_ID_HEADER, HeaderValue::from_static(run))
}

fn denial(err: &BoxError) -> (DeniedKind, Option<String>) {
    let d = Denied::find(err.as_ref()).expect("a denial");
    (d.kind().clone(), d.rule().map(str::to_owned))
}

fn rule(err: &BoxError) -> String {
    denial(err).1.unwrap_or_default()
}

async fn charged() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_sub_agent_gets_only_the_remainder_although_its_own_limit_allows_more() {
    let layer = RunLayer::new(MemoryStore::new())
        .with_limits(RunLimits::new().with_tool_calls(3).with_steps(10))
        .with_caller_limits("agent-y", RunLimits::new().with_tool_calls(100))
        .with_keys(keys());
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let x = Caller::new("agent-x");
    // X (a2a) spends one tool call (mcp), then messages agent Y.
    let tool = call("mcp", Action::ToolCall, "search", json!({"q": 1})).with_caller(x.clone());
    svc.clone().oneshot(in_run(tool, "r1")).await.unwrap();
    let msg = call("a2a", Action::AgentMessage, "y", json!({})).with_caller(x);
    svc.clone().oneshot(in_run(msg, "r1")).await.unwrap();
    let header = seen.last_header();
    // Y calls tools with the header it was handed: two are left of the run's three.
    let y = |n: u64| {
        let c = call("mcp", Action::ToolCall, "search", json!({"q": n}))
            .with_caller(Caller::new("agent-y"));
        with_header(c, RUN_BUDGET_HEADER, header.clone())
    };
    assert!(svc.clone().oneshot(y(10)).await.is_ok());
    assert_eq!(seen.last_run().unwrap().as_str(), "r1");
    assert!(svc.clone().oneshot(y(11)).await.is_ok());
    let err = svc.clone().oneshot(y(12)).await.unwrap_err();
    assert_eq!(
        denial(&err),
        (DeniedKind::BudgetExhausted, Some("run.tool_calls".into()))
    );
    assert!(
        Denied::find(err.as_ref())
            .unwrap()
            .message()
            .contains("tool_calls")
    );
    // Y's calls counted against the run too: X has nothing left either.
    let more = call("mcp", Action::ToolCall, "search", json!({"q": 2}))
        .with_caller(Caller::new("agent-x"));
    let err = svc.clone().oneshot(in_run(more, "r1")).await.unwrap_err();
    assert_eq!(rule(&err), "run.tool_calls");
    assert_eq!(seen.0.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn tampered_foreign_expired_and_dropped_headers_are_refused() {
    let clock = ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let layer = RunLayer::new(MemoryStore::with_clock(clock.shared()))
        .with_limits(RunLimits::new().with_tool_calls(5))
        .with_keys(keys())
        .with_clock(clock.shared())
        .with_header_ttl(Duration::from_secs(60))
        .with_agent("agent-y");
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let msg = call("a2a", Action::AgentMessage, "y", json!({}));
    svc.clone().oneshot(in_run(msg, "r2")).await.unwrap();
    let header = seen.last_header();
    let y = |h: Option<HeaderValue>| {
        let c = call("mcp", Action::ToolCall, "t", json!({})).with_caller(Caller::new("agent-y"));
        match h {
            Some(h) => with_header(c, RUN_BUDGET_HEADER, h),
            None => in_run(c, "r2"),
        }
    };
    // Tampered: one character of the payload changed.
    let text = header.to_str().unwrap();
    let at = text.find('.').unwrap() + 4;
    let mut bytes = text.as_bytes().to_vec();
    let i = bytes[at..].iter().position(|b| *b != b'.').unwrap() + at + 1;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = HeaderValue::from_bytes(&bytes).unwrap();
    let err = svc.clone().oneshot(y(Some(tampered))).await.unwrap_err();
    assert_eq!(
        denial(&err),
        (DeniedKind::Forbidden, Some("run.header".into()))
    );
    // Foreign key: signed by another gateway.
    let other = HopKeys::new(HopKey::new("k9", Secret::new(vec![9; 32])).unwrap());
    let hop = Hop {
        run: "r2".into(),
        depth: 1,
        exp: 2_000_000,
        path: vec![],
        rem: RunLimits::new().with_tool_calls(1_000),
        deadline_ms: None,
        id: "x".into(),
    };
    let foreign = HeaderValue::from_str(&other.sign(&hop)).unwrap();
    let err = svc.clone().oneshot(y(Some(foreign))).await.unwrap_err();
    assert_eq!(rule(&err), "run.header");
    // Dropped: an agent without its header gets nothing.
    let err = svc.clone().oneshot(y(None)).await.unwrap_err();
    assert_eq!(rule(&err), "run.header_missing");
    // The genuine header works, until it expires; then a replay is refused.
    assert!(svc.clone().oneshot(y(Some(header.clone()))).await.is_ok());
    clock.advance(Duration::from_secs(61));
    let err = svc.clone().oneshot(y(Some(header))).await.unwrap_err();
    assert_eq!(rule(&err), "run.header");
    assert_eq!(seen.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn depth_increments_on_each_hop_and_is_limited() {
    let layer = RunLayer::new(MemoryStore::new())
        .with_limits(RunLimits::new().with_depth(1))
        .with_keys(keys());
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let a = call("a2a", Action::AgentMessage, "b", json!({}));
    svc.clone().oneshot(in_run(a, "r3")).await.unwrap();
    // B (depth 1) messages C: allowed, and hands C depth 2.
    let b = call("a2a", Action::AgentMessage, "c", json!({}));
    let b = with_header(b, RUN_BUDGET_HEADER, seen.last_header());
    svc.clone().oneshot(b).await.unwrap();
    let hop = keys()
        .verify(seen.last_header().to_str().unwrap(), SystemTime::now())
        .unwrap();
    assert_eq!(
        (hop.depth, hop.path.clone()),
        (2, vec!["b".into(), "c".into()])
    );
    // C's call is at depth 2, past the limit.
    let c = call("llm", Action::ModelCall, "gpt", json!({}));
    let c = with_header(c, RUN_BUDGET_HEADER, seen.last_header());
    let err = svc.clone().oneshot(c).await.unwrap_err();
    assert_eq!(
        denial(&err),
        (DeniedKind::BudgetExhausted, Some("run.depth".into()))
    );
}

#[tokio::test]
async fn identical_tool_calls_are_blocked_on_the_nth() {
    let loops = Loops {
        repeats: NonZeroU64::new(3).unwrap(),
        ..Loops::default()
    };
    let layer = RunLayer::new(MemoryStore::new()).with_loops(Some(loops));
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let tool = |args: Value| in_run(call("mcp", Action::ToolCall, "fetch", args), "r4");
    assert!(
        svc.clone()
            .oneshot(tool(json!({"a": 1, "b": 2})))
            .await
            .is_ok()
    );
    // A different argument is another call.
    assert!(svc.clone().oneshot(tool(json!({"a": 2}))).await.is_ok());
    // Same arguments in another key order: the same call.
    let same: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap();
    assert!(svc.clone().oneshot(tool(same)).await.is_ok());
    let err = svc
        .clone()
        .oneshot(tool(json!({"a": 1, "b": 2})))
        .await
        .unwrap_err();
    assert_eq!(
        denial(&err),
        (DeniedKind::Forbidden, Some(RULE_REPEATED_TOOL.into()))
    );
    assert_eq!((layer.loop_blocks(), seen.0.lock().unwrap().len()), (1, 3));
    // The same calls in another run are not a loop.
    let other = in_run(
        call("mcp", Action::ToolCall, "fetch", json!({"a": 1, "b": 2})),
        "r5",
    );
    assert!(svc.clone().oneshot(other).await.is_ok());
}

#[tokio::test]
async fn repeated_model_requests_and_hop_cycles_are_detected() {
    let loops = Loops {
        repeats: NonZeroU64::new(2).unwrap(),
        ..Loops::default()
    };
    let layer = RunLayer::new(MemoryStore::new())
        .with_loops(Some(loops))
        .with_keys(keys());
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let model = || {
        in_run(
            call("llm", Action::ModelCall, "gpt", json!({"messages": ["hi"]})),
            "r6",
        )
    };
    assert!(svc.clone().oneshot(model()).await.is_ok());
    let err = svc.clone().oneshot(model()).await.unwrap_err();
    assert_eq!(rule(&err), RULE_REPEATED_MODEL);
    // A→B, then B→A: a cycle.
    let a = in_run(call("a2a", Action::AgentMessage, "a", json!({})), "r7");
    svc.clone().oneshot(a).await.unwrap();
    let ab = call("a2a", Action::AgentMessage, "b", json!({}));
    svc.clone()
        .oneshot(with_header(ab, RUN_BUDGET_HEADER, seen.last_header()))
        .await
        .unwrap();
    let ba = call("a2a", Action::AgentMessage, "a", json!({}));
    let err = svc
        .clone()
        .oneshot(with_header(ba, RUN_BUDGET_HEADER, seen.last_header()))
        .await
        .unwrap_err();
    assert_eq!(rule(&err), RULE_HOP_CYCLE);
}

#[tokio::test]
async fn a_warn_mode_run_completes_with_its_warnings_recorded() {
    let loops = Loops {
        mode: LoopMode::Warn,
        repeats: NonZeroU64::new(2).unwrap(),
        ..Loops::default()
    };
    let layer = RunLayer::new(MemoryStore::new()).with_loops(Some(loops));
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    for n in 0..4 {
        let mut tool = in_run(
            call("mcp", Action::ToolCall, "fetch", json!({"u": 1})),
            "r8",
        );
        // What a front attaches: the headers the call's answer will carry.
        let answer = PolicyHeaders::attach(tool.extensions_mut());
        assert!(svc.clone().oneshot(tool).await.is_ok());
        let want = (n > 0).then(|| HeaderValue::from_static(RULE_REPEATED_TOOL));
        assert_eq!(answer.get("agw-run-warning"), want, "call {n}");
        let warned: &[&str] = if n > 0 { &[RULE_REPEATED_TOOL] } else { &[] };
        assert_eq!(answer.warnings(), warned, "call {n}");
    }
    assert_eq!(seen.0.lock().unwrap().len(), 4);
    assert_eq!(layer.loop_warnings(), 3);
    let run = RunId::new("r8").unwrap();
    assert_eq!(layer.warnings(&run).await.unwrap(), 3);
    assert_eq!(layer.loop_blocks(), 0);
}

#[tokio::test]
async fn tokens_are_charged_when_the_response_ends() {
    let layer = RunLayer::new(MemoryStore::new())
        .with_limits(RunLimits::new().with_tokens(100))
        .with_loops(None);
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::tokens(40, 20)));
    let model = || in_run(call("llm", Action::ModelCall, "gpt", json!({})), "r9");
    assert!(svc.clone().oneshot(model()).await.is_ok());
    charged().await;
    assert!(svc.clone().oneshot(model()).await.is_ok());
    charged().await;
    let run = RunId::new("r9").unwrap();
    assert_eq!(layer.used(&run, LimitName::Tokens).await.unwrap(), 120);
    let err = svc.clone().oneshot(model()).await.unwrap_err();
    assert_eq!(rule(&err), "run.tokens");
}

#[tokio::test]
async fn wall_time_counts_from_the_first_call() {
    let clock = ManualClock::new();
    let layer = RunLayer::new(MemoryStore::with_clock(clock.shared()))
        .with_limits(RunLimits::new().with_wall_time(Duration::from_secs(30)))
        .with_clock(clock.shared());
    let seen = Seen::default();
    let svc = layer.layer(seen.upstream(Usage::step()));
    let tool = |n: u64| in_run(call("mcp", Action::ToolCall, "t", json!({"n": n})), "r10");
    assert!(svc.clone().oneshot(tool(1)).await.is_ok());
    clock.advance(Duration::from_secs(29));
    assert!(svc.clone().oneshot(tool(2)).await.is_ok());
    clock.advance(Duration::from_secs(2));
    let err = svc.clone().oneshot(tool(3)).await.unwrap_err();
    assert_eq!(rule(&err), "run.wall_time");
}

#[tokio::test]
async fn runs_are_found_or_minted_and_housekeeping_is_not_counted() {
    let layer = RunLayer::new(MemoryStore::new()).with_limits(RunLimits::new().with_steps(1));
    let seen = Seen::default();
    let mut svc = layer.layer(seen.upstream(Usage::step()));
    // A2A: the context names the run.
    let msg = call(
        "a2a",
        Action::AgentMessage,
        "y",
        json!({"message": {"contextId": "c1"}}),
    );
    svc.ready().await.unwrap().call(msg).await.unwrap();
    assert_eq!(seen.last_run().unwrap().as_str(), "a2a:c1");
    // A step in no known run gets a run of its own.
    svc.ready()
        .await
        .unwrap()
        .call(call("llm", Action::ModelCall, "m", json!({})))
        .await
        .unwrap();
    assert!(seen.last_run().unwrap().as_str().starts_with("run-"));
    // Listings pass uncounted, and without a run.
    for _ in 0..3 {
        let list = call("mcp", Action::ListTools, "", json!({}));
        svc.ready().await.unwrap().call(list).await.unwrap();
    }
    assert_eq!(seen.last_run(), None);
    let again = call(
        "a2a",
        Action::AgentMessage,
        "y",
        json!({"message": {"contextId": "c1"}}),
    );
    let err = svc.ready().await.unwrap().call(again).await.unwrap_err();
    assert_eq!(rule(&err), "run.steps");
}

#[tokio::test]
async fn a_store_failure_fails_closed_unless_open() {
    let limits = RunLimits::new().with_steps(1);
    let seen = Seen::default();
    let closed = RunLayer::new(Down).with_limits(limits);
    let tool = || in_run(call("mcp", Action::ToolCall, "t", json!({})), "r11");
    let err = closed
        .layer(seen.upstream(Usage::step()))
        .oneshot(tool())
        .await
        .unwrap_err();
    assert_eq!(denial(&err).0, DeniedKind::Unavailable);
    let open = RunLayer::new(Down).with_limits(limits).fail_open();
    assert!(
        open.layer(seen.upstream(Usage::step()))
            .oneshot(tool())
            .await
            .is_ok()
    );
    assert_eq!(
        (open.fail_open_count(), seen.0.lock().unwrap().len()),
        (1, 1)
    );
}
