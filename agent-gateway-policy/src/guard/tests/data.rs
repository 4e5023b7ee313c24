//! Data schemas: declarations from config and from the request's card extension, both
//! directions, both modes. The protocol side (where data parts are, streams) is tested in the
//! A2A crate and end to end in `examples/tests/guard_data.rs`.

use std::sync::Arc;

use agent_gateway_core::content::{Blocked, DataCheck, DataItem, DeclaredDataSchemas};
use agent_gateway_core::response::{PolicyHeaders, Reply};
use agent_gateway_core::{
    Action, AgentRequest, AgentResponse, Call, DeniedKind, RequestParts, UsageReport,
};
use serde_json::{Value, json};

use crate::guard::*;

/// An A2A-like message whose arguments' `parts` are its data parts.
struct Message(Call);

fn each_part(parts: &Value, check: &mut dyn DataCheck) -> Result<(), Blocked> {
    let parts = parts.as_array().into_iter().flatten().enumerate();
    for (i, part) in parts.filter(|(_, p)| p.get("data").is_some()) {
        let at = format!("/parts/{i}");
        let media_type = part["mediaType"].as_str().unwrap_or("application/json");
        check.check(&DataItem {
            at: &at,
            media_type,
            data: &part["data"],
        })?;
    }
    Ok(())
}

impl AgentRequest for Message {
    fn protocol(&self) -> &'static str {
        self.0.protocol()
    }
    fn action(&self) -> Action {
        self.0.action()
    }
    fn target(&self) -> Option<&str> {
        self.0.target()
    }
    fn arguments(&self) -> Option<&Value> {
        self.0.arguments()
    }
    fn parts(&self) -> &dyn RequestParts {
        self.0.parts()
    }
    fn parts_mut(&mut self) -> &mut dyn RequestParts {
        self.0.parts_mut()
    }
    fn check_data(&self, check: &mut dyn DataCheck) -> Result<(), Blocked> {
        each_part(&self.0.arguments().unwrap()["parts"], check)
    }
}

/// An answer whose `parts` are its data parts; a block replaces it with the denial.
struct Answer {
    parts: Value,
    refused: Option<Blocked>,
    usage: UsageReport,
}

impl AgentResponse for Answer {
    fn usage_report(&self) -> Option<&UsageReport> {
        Some(&self.usage)
    }
    fn check_data(&mut self, mut check: Box<dyn DataCheck>) -> Result<(), Box<dyn DataCheck>> {
        self.refused = each_part(&self.parts, check.as_mut()).err();
        Ok(())
    }
}

fn answer(data: Value) -> Answer {
    Answer {
        parts: json!([{"data": data}]),
        refused: None,
        usage: UsageReport::new(),
    }
}

fn message(agent: &str, data: Value, declared: Option<&Arc<Value>>) -> Message {
    let mut call = Call::new(
        Action::AgentMessage,
        json!({"parts": [{"text": "hi"}, {"data": data}]}),
    )
    .with_protocol("a2a")
    .with_target(agent);
    if let Some(declared) = declared {
        call.extensions_mut()
            .insert(DeclaredDataSchemas(Arc::clone(declared)));
    }
    call.extensions_mut().insert(PolicyHeaders::new());
    Message(call)
}

fn qty_schemas() -> Value {
    json!({
        "application/json": {"type": "object", "required": ["qty"]},
        "returns": {"application/json": {"type": "object", "properties": {"total": {"type": "number"}}}},
    })
}

/// Runs `rail` on a message and, when it passes, on `reply`: the request's verdict and the
/// answer's refusal.
fn exchange(rail: &DataSchemas, mut req: Message, mut reply: Answer) -> (Verdict, Option<Blocked>) {
    let verdict = rail.on_request(&mut req);
    if verdict != Verdict::Pass {
        return (verdict, None);
    }
    let mut exchange = Exchange::of(&req);
    if rail.watches(&req) {
        rail.prepare(&req, &mut exchange);
        assert_eq!(rail.on_response(&exchange, &mut reply), Verdict::Pass);
    }
    (verdict, reply.refused)
}

#[test]
fn a_cards_declaration_checks_both_ways_and_a_refused_request_is_a_bad_request() {
    let rail = DataSchemas::new();
    let card = Arc::new(qty_schemas());
    let ok = exchange(
        &rail,
        message("orders", json!({"qty": 1}), Some(&card)),
        answer(json!({"total": 2})),
    );
    assert_eq!(ok, (Verdict::Pass, None));

    let (verdict, _) = exchange(
        &rail,
        message("orders", json!({}), Some(&card)),
        answer(json!({})),
    );
    let Verdict::Block(block) = verdict else {
        panic!("{verdict:?}")
    };
    let denied = block.into_denied();
    assert_eq!(denied.kind(), &DeniedKind::BadRequest);
    assert_eq!(denied.rule(), Some(DATA_IN_RULE));
    assert!(
        denied.message().contains("data part /parts/1"),
        "{}",
        denied.message()
    );
    assert!(
        denied.message().contains("schema path /required"),
        "{}",
        denied.message()
    );

    let (verdict, refused) = exchange(
        &rail,
        message("orders", json!({"qty": 1}), Some(&card)),
        answer(json!({"total": "x"})),
    );
    assert_eq!(verdict, Verdict::Pass);
    let refused = refused.expect("the answer is refused");
    assert_eq!(refused.rule_id(), DATA_OUT_RULE);
    let why = refused.message().unwrap();
    assert!(why.contains("/properties/total/type"), "{why}");
    assert!(
        !why.contains("\"x\""),
        "the refused value is not quoted back: {why}"
    );
    assert_eq!(rail.blocks(), 2);

    // Another agent, and a message without a declaration, are not checked.
    let other = exchange(
        &rail,
        message("other", json!({}), None),
        answer(json!({"total": "x"})),
    );
    assert_eq!(other, (Verdict::Pass, None));
    // A media type the declaration says nothing of passes.
    let mut csv = message("orders", json!(null), Some(&card));
    csv.0.arguments_mut()["parts"][1]["mediaType"] = "text/csv".into();
    assert_eq!(rail.on_request(&mut csv), Verdict::Pass);
}

#[test]
fn config_wins_over_the_card_and_a_broken_card_fails_closed() {
    let config = json!({"accepts": {"application/json": {"type": "object", "required": ["sku"]}}});
    let rail = DataSchemas::new().with_agent("orders", &config).unwrap();
    let card = Arc::new(qty_schemas());
    // The card would refuse `{}`... the config's schema asks for `sku` instead.
    let (verdict, refused) = exchange(
        &rail,
        message("orders", json!({"sku": "a"}), Some(&card)),
        answer(json!({"total": "x"})),
    );
    assert_eq!(
        (verdict, refused),
        (Verdict::Pass, None),
        "config has no `returns`"
    );
    let (verdict, _) = exchange(
        &rail,
        message("orders", json!({"qty": 1}), Some(&card)),
        answer(json!({})),
    );
    assert!(matches!(verdict, Verdict::Block(_)), "{verdict:?}");

    // A card whose declaration cannot be used refuses the agent's data both ways.
    let broken = Arc::new(json!({"accepts": 7}));
    let (verdict, _) = exchange(
        &rail,
        message("billing", json!({"qty": 1}), Some(&broken)),
        answer(json!({})),
    );
    let Verdict::Block(block) = verdict else {
        panic!("{verdict:?}")
    };
    assert!(block.into_denied().message().contains("cannot be used"));
    let bad_schema = Arc::new(json!({"application/json": {"type": 7}}));
    let (verdict, _) = exchange(
        &rail,
        message("billing", json!({}), Some(&bad_schema)),
        answer(json!({})),
    );
    assert!(matches!(verdict, Verdict::Block(_)), "{verdict:?}");
}

#[test]
fn a_cards_schemas_are_compiled_once_per_declaration() {
    let rail = DataSchemas::new();
    let card = Arc::new(qty_schemas());
    for _ in 0..3 {
        let (verdict, _) = exchange(
            &rail,
            message("orders", json!({}), Some(&card)),
            answer(json!({})),
        );
        assert!(matches!(verdict, Verdict::Block(_)));
    }
    // A new card (a new `Arc`) with another declaration replaces the old one's schemas.
    let relaxed = Arc::new(json!({"application/json": {"type": "object"}}));
    let (verdict, _) = exchange(
        &rail,
        message("orders", json!({}), Some(&relaxed)),
        answer(json!({})),
    );
    assert_eq!(verdict, Verdict::Pass);
    assert!(format!("{rail:?}").contains("DataSchemas"));
}

#[test]
fn warn_mode_passes_and_flags_both_directions() {
    let rail = DataSchemas::new().with_mode(Mode::Warn);
    let card = Arc::new(qty_schemas());
    let req = message("orders", json!({}), Some(&card));
    let headers = req.extensions().get::<PolicyHeaders>().unwrap().clone();
    let (verdict, refused) = exchange(&rail, req, answer(json!({"total": "x"})));
    assert_eq!((verdict, refused), (Verdict::Pass, None));
    assert_eq!(rail.warnings(), 2);
    assert_eq!(headers.warnings(), [DATA_IN_RULE, DATA_OUT_RULE]);
    let reply = Reply::new(json!({}));
    assert!(
        reply.output().is_some(),
        "a plain Reply carries no data parts to check"
    );
}
