//! Text filters: chained onto responses, deny rules and PII on streamed text.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::response::Reply;
use agent_gateway_core::{Action, AgentRequest, AgentResponse, BoxError, Call, DeniedKind};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::*;
use crate::guard::*;

/// A response that takes a text filter and runs it over a fixed text, as a protocol would.
struct Texty {
    text: String,
    usage: agent_gateway_core::UsageReport,
}

impl AgentResponse for Texty {
    fn usage_report(&self) -> Option<&agent_gateway_core::UsageReport> {
        Some(&self.usage)
    }

    fn filter_text(&mut self, mut filter: Box<dyn TextFilter>) -> Result<(), Box<dyn TextFilter>> {
        let mut out = String::new();
        let pieces: Vec<char> = self.text.chars().collect();
        for c in pieces {
            if filter.push(&c.to_string(), &mut out).is_err() {
                self.text = "BLOCKED".into();
                return Ok(());
            }
        }
        let _ = filter.finish(&mut out);
        self.text = out;
        Ok(())
    }
}

/// Replaces a fixed word, holding back a prefix of it across pieces.
struct Replace(&'static str, &'static str, String);

impl TextFilter for Replace {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        self.2.push_str(text);
        let replaced = self.2.replace(self.0, self.1);
        let keep = (1..self.0.len())
            .rev()
            .find(|n| replaced.ends_with(&self.0[..*n]))
            .unwrap_or(0);
        out.push_str(&replaced[..replaced.len() - keep]);
        self.2 = replaced[replaced.len() - keep..].to_owned();
        Ok(())
    }
    fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
        out.push_str(&std::mem::take(&mut self.2));
        Ok(())
    }
}

struct Filtering(&'static str, &'static str);

impl Guardrail for Filtering {
    fn text_filter(&self, _: &Exchange) -> Option<Box<dyn TextFilter>> {
        Some(Box::new(Replace(self.0, self.1, String::new())))
    }
}

#[tokio::test]
async fn text_filters_of_several_guardrails_are_chained_onto_the_response() {
    let layer = GuardLayer::new()
        .with(Filtering("cat", "dog"))
        .with(Filtering("dog", "fox"));
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(|_: Call| async {
            Ok::<_, BoxError>(Texty {
                text: "a cat and a dog".into(),
                usage: Default::default(),
            })
        }));
    let res = svc.oneshot(tool_call("t", json!({}))).await.unwrap();
    assert_eq!(res.text, "a fox and a fox");
}

/// Feeds `text` to `filter` cut at `cut`; what was released, or the block.
fn run_split(filter: &mut dyn TextFilter, text: &str, cut: usize) -> Result<String, Blocked> {
    let mut out = String::new();
    filter.push(&text[..cut], &mut out)?;
    filter.push(&text[cut..], &mut out)?;
    filter.finish(&mut out)?;
    Ok(out)
}

#[test]
fn deny_rules_block_streamed_text_at_every_split_point_before_the_match_goes_out() {
    let rules = DenyRules::new()
        .keyword("no-drop", "drop table")
        .unwrap()
        .regex("aws-key", "AKIA[0-9A-Z]{16}")
        .unwrap();
    let bad = "run: DROP TABLE users; then stop";
    for cut in 0..=bad.len() {
        let mut filter = rules.filter();
        let mut out = String::new();
        let first = filter.push(&bad[..cut], &mut out);
        let blocked = first
            .and_then(|()| filter.push(&bad[cut..], &mut out))
            .and_then(|()| filter.finish(&mut out))
            .unwrap_err();
        assert_eq!(blocked.rule_id(), "no-drop", "cut {cut}");
        // The match never went out, not even its first bytes.
        assert!(!out.to_lowercase().contains("drop"), "cut {cut}: {out:?}");
    }
    let clean = "an AKIA key is 20 characters: AKIA1234 is not one";
    for cut in 0..=clean.len() {
        assert_eq!(run_split(&mut rules.filter(), clean, cut).unwrap(), clean);
    }
    // What is held back is the longest match less one byte, never the whole text.
    let mut filter = rules.filter();
    let mut out = String::new();
    filter.push(&"x".repeat(1000), &mut out).unwrap();
    assert_eq!(
        out.len(),
        1000 - 19,
        "AKIA[0-9A-Z]{{16}} is the longest rule: 20 bytes"
    );
    // An unbounded rule holds back at most MAX_STREAM_HOLD.
    let wide = DenyRules::new().regex("w", "secret: \\w+!").unwrap();
    let mut filter = wide.filter();
    let mut out = String::new();
    filter.push(&"y".repeat(10_000), &mut out).unwrap();
    assert_eq!(out.len(), 10_000 - MAX_STREAM_HOLD);
    // Rules that do not look at responses offer no filter.
    let exchange = Exchange::of(&tool_call("t", json!({})));
    assert!(rules.text_filter(&exchange).is_some());
    assert!(
        rules
            .clone()
            .on_responses(false)
            .text_filter(&exchange)
            .is_none()
    );
}

#[tokio::test]
async fn deny_rules_block_a_stream_through_the_layer() {
    let layer = GuardLayer::new().with(DenyRules::new().keyword("no-cat", "cat").unwrap());
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(|_: Call| async {
            Ok::<_, BoxError>(Texty {
                text: "a dog and a cat".into(),
                usage: Default::default(),
            })
        }));
    let res = svc.oneshot(tool_call("t", json!({}))).await.unwrap();
    assert_eq!(res.text, "BLOCKED");
}

fn pii() -> pii::PiiGuard {
    use pii::{Detector, PiiAction, PiiGuard, PiiRule};
    PiiGuard::new([
        PiiRule::new("pii.email", Detector::Email, PiiAction::Redact),
        PiiRule::new("pii.payment_card", Detector::PaymentCard, PiiAction::Redact),
        PiiRule::new("no-keys", Detector::OpenAiKey, PiiAction::Block),
    ])
}

#[tokio::test]
async fn a_pii_guardrail_redacts_arguments_and_outputs_and_blocks_by_rule() {
    let seen_rewrite = Arc::new(std::sync::Mutex::new(None));
    let log = seen_rewrite.clone();
    let upstream_calls = Arc::new(AtomicUsize::new(0));
    let calls = upstream_calls.clone();
    let svc = ServiceBuilder::new()
        .layer(GuardLayer::new().with(pii()))
        .service(service_fn(move |call: Call| {
            calls.fetch_add(1, Ordering::SeqCst);
            *log.lock().unwrap() = Some((
                call.arguments().cloned(),
                call.extensions().get::<Rewritten>().cloned(),
            ));
            async move {
                Ok::<_, BoxError>(Reply::new(
                    json!({"content": [{"type": "text", "text": "card 4111 1111 1111 1111, id 7"}]}),
                ))
            }
        }));
    let args = json!({"to": "ann@example.com", "n": 3, "note": "card 4111 1111 1111 1112"});
    let res = svc.clone().oneshot(tool_call("mail", args)).await.unwrap();
    let (args, rewritten) = seen_rewrite.lock().unwrap().take().unwrap();
    // The upstream got the redacted arguments (the failing-Luhn number is no card).
    assert_eq!(
        args,
        Some(json!({"to": "[REDACTED:email]", "n": 3, "note": "card 4111 1111 1111 1112"}))
    );
    assert_eq!(rewritten, Some(Rewritten(vec!["pii.email".into()])));
    // And the client gets the redacted output.
    assert_eq!(
        res.into_output()["content"][0]["text"],
        "card [REDACTED:payment_card], id 7"
    );
    // A blocking rule refuses the request before the upstream, naming itself.
    let before = upstream_calls.load(Ordering::SeqCst);
    let err = svc
        .oneshot(tool_call(
            "mail",
            json!({"key": "sk-abcdefghijklmnopqrstuvwx"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        rule_of(&err).0,
        DeniedKind::GuardrailBlocked {
            rule_id: "no-keys".into()
        }
    );
    assert_eq!(upstream_calls.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_pii_guardrail_filters_streamed_text_and_turns_off_per_side() {
    let texty = |guard: pii::PiiGuard| {
        ServiceBuilder::new()
            .layer(GuardLayer::new().with(guard))
            .service(service_fn(|_: Call| async {
                Ok::<_, BoxError>(Texty {
                    text: "mail ann@example.com now".into(),
                    usage: Default::default(),
                })
            }))
    };
    // Texty feeds its text one character at a time: the address spans every piece.
    let res = texty(pii())
        .oneshot(tool_call("t", json!({})))
        .await
        .unwrap();
    assert_eq!(res.text, "mail [REDACTED:email] now");
    let res = texty(pii().on_responses(false))
        .oneshot(tool_call("t", json!({})))
        .await
        .unwrap();
    assert_eq!(res.text, "mail ann@example.com now");
    let (svc, seen) = stack(
        GuardLayer::new().with(pii().on_requests(false)),
        json!("ok"),
    );
    svc.oneshot(tool_call("t", json!({"to": "ann@example.com"})))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0], json!({"to": "ann@example.com"}));
}

#[test]
fn only_guardrails_in_scope_watch_the_response() {
    let call = tool_call("fs__read", json!({}));
    let request_only = |_: &mut dyn AgentRequest| Verdict::Pass;
    assert!(!request_only.watches(&call));
    let scoped = Scoped::new("d", DenyRules::new().keyword("k", "x").unwrap());
    assert!(scoped.watches(&call));
    let elsewhere = scoped
        .clone()
        .with_scope(Scope::all().with_targets(["db__*"]));
    assert!(!elsewhere.watches(&call));
    // A listing has no target: a target scope does not keep it from a learning guardrail.
    let listing = Call::new(Action::ListTools, json!({})).with_protocol("mcp");
    assert!(elsewhere.watches(&listing));
    assert!(
        !Scoped::new("d", DenyRules::new()).watches(&call),
        "no rule: nothing to watch"
    );
}
