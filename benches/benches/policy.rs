//! Each policy layer, auth + authorize + quota together, the guardrails (a schema check alone,
//! all but PII together), the run layer alone, and the full stack with guardrails and with the
//! run layer, against the bare service, per call.
//!
//! Every row drives the same in-process service with `oneshot` on a current-thread runtime, so
//! the runtime's own cost is in the baseline too and the rows read as ratios.

#![allow(clippy::unwrap_used, reason = "bench setup, not a request path")]

use std::hint::black_box;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::response::Reply;
use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::{Action, BoxError, Call, Caller, Cost, Secret};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use agent_gateway_policy::authorize::{AuthorizeLayer, Rules};
use agent_gateway_policy::budget::{BudgetLayer, Level};
use agent_gateway_policy::guard::{DenyRules, GuardLayer, PinMode, Pins, SchemaCheck, SizeLimits};
use agent_gateway_policy::key::Subject;
use agent_gateway_policy::quota::{Limit, QuotaLayer};
use agent_gateway_policy::run::{HopKey, HopKeys, Loops, RunLayer, RunLimits};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use tower::{Layer, Service, ServiceExt, service_fn};

fn bare()
-> impl Service<Call, Response = Reply, Error = BoxError, Future: Send> + Clone + Send + Sync {
    service_fn(|_call: Call| async { Ok::<_, BoxError>(Reply::new(json!({"ok": true}))) })
}

fn call() -> Call {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer sk-bench-0123456789"),
    );
    // Every call in one run, as an agent's calls are; layers other than the run layer ignore it.
    headers.insert("agw-run-id", HeaderValue::from_static("bench-run"));
    Call::new(Action::ToolCall, json!({"path": "/data/x"}))
        .with_target("fs.read")
        .with_headers(headers)
        // Rows without auth still need a caller to key on; auth replaces it where present.
        .with_caller(Caller::new("bench"))
}

fn auth_layer() -> AuthLayer<ApiKeys> {
    let keys = ApiKeys::new().with_key(
        Secret::new("sk-bench-0123456789".to_owned()),
        Principal::new("bench").with_role("reader"),
    );
    AuthLayer::new(keys)
}

fn authorize_layer() -> AuthorizeLayer {
    let policy = Rules::new()
        .deny("no-delete", r#"target.startsWith("fs.delete")"#)
        .allow(
            "readers",
            r#""reader" in caller.roles && args.path.startsWith("/data/")"#,
        )
        .compile()
        .unwrap();
    AuthorizeLayer::new(policy)
}

fn quota_layer() -> QuotaLayer {
    // A limit no bench reaches: the cost measured is the decision, not a denial.
    let rate = Rate::new(
        NonZeroU64::new(u64::MAX / 4).unwrap(),
        Duration::from_secs(1),
    );
    QuotaLayer::new(Arc::new(MemoryStore::new()))
        .with_limit(Limit::requests("bench", Subject, rate))
}

/// The tool `fs.read` as an MCP server lists it.
fn listed_tool() -> serde_json::Value {
    json!({
        "name": "fs.read",
        "description": "Reads a file under /data.",
        "inputSchema": {
            "type": "object",
            "properties": {"path": {"type": "string", "pattern": "^/data/"}, "limit": {"type": "integer"}},
            "required": ["path"],
            "additionalProperties": false,
        },
    })
}

/// The schema check, having learned `fs.read` from a listing.
fn schema_check() -> SchemaCheck {
    let check = SchemaCheck::new();
    check.learn("fs.read", &listed_tool());
    check
}

/// Every built-in guardrail but PII: schema check, deny rules, size limits, pins.
fn guardrails() -> GuardLayer {
    let deny = DenyRules::new()
        .keyword("no-drop", "drop table")
        .unwrap()
        .keyword("no-shadow", "/etc/shadow")
        .unwrap()
        .regex("aws-key", r"AKIA[0-9A-Z]{16}")
        .unwrap();
    let pins = Pins::new(PinMode::Block);
    pins.observe("fs.read", &listed_tool());
    GuardLayer::new()
        .with(schema_check())
        .with(deny)
        .with(
            SizeLimits::new()
                .with_max_field(64 * 1024)
                .with_max_total(1 << 20),
        )
        .with(pins)
}

fn run_layer() -> RunLayer {
    // Limits no bench reaches, a signing key (each call signs the next hop's header), and loop
    // detection that hashes every call's arguments but never fires.
    let many = u64::MAX / 4;
    let key = HopKey::new("bench", Secret::new(vec![1; 32])).unwrap();
    let loops = Loops {
        repeats: NonZeroU64::new(many).unwrap(),
        ..Loops::default()
    };
    RunLayer::new(Arc::new(MemoryStore::new()))
        .with_limits(
            RunLimits::new()
                .with_steps(many)
                .with_tool_calls(many)
                .with_depth(8),
        )
        .with_keys(HopKeys::new(key))
        .with_loops(Some(loops))
}

fn bench_row<S>(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, svc: S)
where
    S: Service<Call> + Clone,
    S::Error: std::fmt::Debug,
{
    bench_request(c, rt, name, svc, call());
}

fn bench_request<S>(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, svc: S, req: Call)
where
    S: Service<Call> + Clone,
    S::Error: std::fmt::Debug,
{
    c.bench_function(name, |b| {
        b.iter(|| black_box(rt.block_on(svc.clone().oneshot(req.clone())).unwrap()))
    });
}

fn policy(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    bench_row(c, &rt, "policy/baseline_bare_service", bare());
    bench_row(c, &rt, "policy/auth_api_key", auth_layer().layer(bare()));
    // authorize reads the caller, so it sits behind auth in its row as in any real stack;
    // compare it with the auth row.
    bench_row(
        c,
        &rt,
        "policy/auth+authorize",
        auth_layer().layer(authorize_layer().layer(bare())),
    );
    bench_row(c, &rt, "policy/quota_memory", quota_layer().layer(bare()));
    let budget = BudgetLayer::new(Arc::new(MemoryStore::new()))
        .with_key(Subject)
        .with_limit(Level::Key, Cost::from_nano_usd(u64::MAX / 4));
    bench_row(
        c,
        &rt,
        "policy/auth+budget_memory",
        auth_layer().layer(budget.layer(bare())),
    );
    let stack = auth_layer().layer(authorize_layer().layer(quota_layer().layer(bare())));
    bench_row(c, &rt, "policy/auth+authorize+quota", stack);

    // The guardrails look at MCP tool calls; the bare row with the same request is the
    // baseline to compare them with (target: the full stack at most 3 µs over it).
    let mcp = || call().with_protocol("mcp");
    bench_request(c, &rt, "policy/guard_baseline_bare_mcp_call", bare(), mcp());
    let schema = GuardLayer::new().with(schema_check());
    bench_request(
        c,
        &rt,
        "policy/guard_schema_check",
        schema.layer(bare()),
        mcp(),
    );
    bench_request(
        c,
        &rt,
        "policy/guard_all_but_pii",
        guardrails().layer(bare()),
        mcp(),
    );
    bench_row(c, &rt, "policy/run_memory", run_layer().layer(bare()));
    let budget = BudgetLayer::new(Arc::new(MemoryStore::new()))
        .with_key(Subject)
        .with_limit(Level::Key, Cost::from_nano_usd(u64::MAX / 4));
    let full = auth_layer().layer(
        authorize_layer().layer(quota_layer().layer(budget.layer(guardrails().layer(bare())))),
    );
    bench_request(c, &rt, "policy/full_stack_with_guardrails", full, mcp());
    let budget = BudgetLayer::new(Arc::new(MemoryStore::new()))
        .with_key(Subject)
        .with_limit(Level::Key, Cost::from_nano_usd(u64::MAX / 4));
    let full = auth_layer().layer(
        authorize_layer().layer(quota_layer().layer(budget.layer(run_layer().layer(bare())))),
    );
    bench_row(c, &rt, "policy/auth+authorize+quota+budget+run", full);
}

criterion_group!(benches, policy);
criterion_main!(benches);
