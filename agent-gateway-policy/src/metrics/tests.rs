use std::num::NonZeroUsize;
use std::time::Duration;

use agent_gateway_core::clock::ManualClock;
use agent_gateway_core::response::{Outcome, Reply};
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::upstream::balance::Failover;
use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
use agent_gateway_core::{
    Action, AgentRequest, AgentResponse, BoxError, Call, Caller, Cost, Usage,
};
use serde_json::json;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::ServiceBuilderExt;
use crate::audit::AuditTapLayer;

/// The value of the sample `line_start` (a metric name with its labels) in `text`.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

fn model_call(caller: &str, model: &str) -> Call {
    Call::new(Action::ModelCall, json!({}))
        .with_protocol("llm")
        .with_target(model)
        .with_caller(Caller::new(caller))
}

#[tokio::test]
async fn caller_and_model_labels_are_capped_and_the_rest_are_other() {
    let metrics = Metrics::new().with_label_limit(NonZeroUsize::new(3).unwrap());
    let upstream = FakeUpstream::new(|_: Call| {
        Ok::<_, BoxError>(Reply::with_usage(json!("x"), Usage::tokens(1, 1)))
    });
    let svc = metrics.layer().layer(upstream);
    for i in 0..10 {
        let call = model_call(&format!("c{i}"), &format!("m{i}"));
        svc.clone().oneshot(call).await.unwrap();
    }
    let text = metrics.render();
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("agw_tokens_total{") && l.contains(r#"type="input""#))
        .collect();
    // Three callers with their own model (the first three), and every other call as one.
    assert_eq!(series.len(), 4, "{text}");
    let other = r#"agw_tokens_total{caller="other",model="other",type="input"}"#;
    assert_eq!(sample(&text, other), Some(7.0), "{text}");
    let first = r#"agw_tokens_total{caller="custom:::c0",model="m0",type="input"}"#;
    assert_eq!(sample(&text, first), Some(1.0), "{text}");
    let calls = r#"agw_requests_total{protocol="llm",action="model_call",outcome="ok"}"#;
    assert_eq!(sample(&text, calls), Some(10.0));
}

#[tokio::test]
async fn the_caller_set_further_in_is_read_through_the_tap() {
    let metrics = Metrics::new();
    let upstream = FakeUpstream::new(|_: Call| {
        let usage = Usage::tokens(4, 2).with_cost(Cost::from_usd(0.5));
        Ok::<_, BoxError>(Reply::with_usage(json!("x"), usage))
    });
    let stack = ServiceBuilder::new()
        .layer(metrics.layer())
        // Stands for auth: the caller is known only inside, and the tap records it.
        .map_request(|call: Call| call.with_caller(Caller::new("bob")))
        .layer(AuditTapLayer)
        .service(upstream);
    let call = Call::new(Action::ModelCall, json!({})).with_target("gpt");
    stack.oneshot(call).await.unwrap();
    let text = metrics.render();
    let spend = r#"agw_cost_usd_total{caller="custom:::bob",model="gpt"}"#;
    assert_eq!(sample(&text, spend), Some(0.5), "{text}");
    let output = r#"agw_tokens_total{caller="custom:::bob",model="gpt",type="output"}"#;
    assert_eq!(sample(&text, output), Some(2.0), "{text}");
}

#[tokio::test]
async fn a_stream_is_counted_when_it_ends_with_its_usage_and_outcome() {
    let metrics = Metrics::new();
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!(null))));
    let svc = metrics.layer().layer(upstream);
    let reply = svc.oneshot(model_call("ann", "gpt")).await.unwrap();
    let aborted = r#"agw_requests_total{protocol="llm",action="model_call",outcome="aborted"}"#;
    assert_eq!(
        sample(&metrics.render(), aborted),
        None,
        "not counted before it ends"
    );
    let report = reply.usage_report().unwrap().clone();
    report.complete(Usage::tokens(5, 7), Outcome::Aborted);
    let text = metrics.render();
    assert_eq!(sample(&text, aborted), Some(1.0), "{text}");
    let output = r#"agw_tokens_total{caller="custom:::ann",model="gpt",type="output"}"#;
    assert_eq!(sample(&text, output), Some(7.0), "{text}");
}

#[tokio::test]
async fn denials_count_by_kind_and_rule_and_errors_as_errors() {
    let metrics = Metrics::new();
    let stack = ServiceBuilder::new()
        .layer(metrics.layer())
        .check(|req: &dyn AgentRequest| match req.target() {
            Some("fs.delete") => Err(Denied::forbidden("no").with_rule("no-deletes")),
            Some("quiet") => Err(Denied::forbidden("no")),
            _ => Ok(()),
        })
        .service(service_fn(|_: Call| async {
            Err::<Reply, BoxError>("upstream broke".into())
        }));
    let call = |t: &str| {
        Call::new(Action::ToolCall, json!({}))
            .with_protocol("mcp")
            .with_target(t)
    };
    for target in ["fs.delete", "fs.delete", "quiet", "fs.read"] {
        assert!(stack.clone().oneshot(call(target)).await.is_err());
    }
    let text = metrics.render();
    let rule = r#"agw_denials_total{protocol="mcp",kind="forbidden",rule="no-deletes"}"#;
    assert_eq!(sample(&text, rule), Some(2.0), "{text}");
    let none = r#"agw_denials_total{protocol="mcp",kind="forbidden",rule="none"}"#;
    assert_eq!(sample(&text, none), Some(1.0), "{text}");
    let denied =
        r#"agw_request_duration_seconds_count{protocol="mcp",action="tool_call",outcome="denied"}"#;
    assert_eq!(sample(&text, denied), Some(3.0), "{text}");
    let errors = r#"agw_requests_total{protocol="mcp",action="tool_call",outcome="error"}"#;
    assert_eq!(sample(&text, errors), Some(1.0), "{text}");
}

#[tokio::test]
async fn an_off_layer_counts_nothing_and_passes_calls_through() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("x"))));
    let svc = MetricsLayer::off().layer(upstream.clone());
    svc.oneshot(model_call("ann", "gpt")).await.unwrap();
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn tables_and_upstreams_are_read_at_each_scrape() {
    let metrics = Metrics::new();
    let fill = Arc::new(std::sync::atomic::AtomicUsize::new(3));
    let read = fill.clone();
    metrics.watch_table("mcp_sessions", Some(10), move || {
        read.load(std::sync::atomic::Ordering::Relaxed)
    });
    let clock = ManualClock::new();
    let name = UpstreamName::new("gpt").unwrap();
    let hangs = service_fn(|_: ()| std::future::pending::<Result<(), BoxError>>());
    let registry = Registry::builder()
        .with_breaker(BreakerConfig::new(
            std::num::NonZeroU32::MIN,
            Duration::from_secs(5),
        ))
        .with_clock(clock.shared())
        .instance(name.clone(), InstanceId::new("eu").unwrap(), hangs)
        .instance(name, InstanceId::new("us").unwrap(), hangs)
        .build()
        .unwrap();
    metrics.watch_upstreams("llm", UpstreamHealth::of(&registry));
    let text = metrics.render();
    assert_eq!(
        sample(&text, r#"agw_table_entries{table="mcp_sessions"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"agw_table_capacity{table="mcp_sessions"}"#),
        Some(10.0)
    );
    let eu = r#"{protocol="llm",upstream="gpt",instance="eu"}"#;
    assert_eq!(
        sample(&text, &format!("agw_upstream_up{eu}")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("agw_upstream_in_flight{eu}")),
        Some(0.0)
    );

    // One failure opens the eu breaker; a call in flight on us.
    let eu_instance = &registry.get("gpt").unwrap().instances()[0];
    eu_instance.breaker().try_acquire().unwrap().failed();
    let mut us = registry
        .balanced("gpt")
        .unwrap()
        .pin("us", Failover::Never)
        .unwrap();
    let _in_flight = us.ready().await.unwrap().call(());
    fill.store(7, std::sync::atomic::Ordering::Relaxed);
    let text = metrics.render();
    assert_eq!(
        sample(&text, &format!("agw_upstream_up{eu}")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("agw_upstream_breaker_state{eu}")),
        Some(2.0)
    );
    let us = r#"{protocol="llm",upstream="gpt",instance="us"}"#;
    assert_eq!(
        sample(&text, &format!("agw_upstream_in_flight{us}")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"agw_table_entries{table="mcp_sessions"}"#),
        Some(7.0)
    );
}

#[test]
fn a_watched_store_reports_up_and_its_errors_at_each_scrape() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let metrics = Metrics::new();
    let (up, errors) = (Arc::new(AtomicBool::new(true)), Arc::new(AtomicU64::new(0)));
    let (u, e) = (up.clone(), errors.clone());
    metrics.watch_store(
        "redis",
        move || u.load(Ordering::Relaxed),
        move || e.load(Ordering::Relaxed),
    );
    let text = metrics.render();
    assert_eq!(
        sample(&text, r#"agw_store_up{store="redis"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"agw_store_errors_total{store="redis"}"#),
        Some(0.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE agw_store_errors_total counter"),
        "{text}"
    );
    up.store(false, Ordering::Relaxed);
    errors.store(3, Ordering::Relaxed);
    let text = metrics.render();
    assert_eq!(
        sample(&text, r#"agw_store_up{store="redis"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"agw_store_errors_total{store="redis"}"#),
        Some(3.0),
        "{text}"
    );
}
