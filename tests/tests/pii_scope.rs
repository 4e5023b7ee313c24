//! The response-side PII rail redacts content fields only (#15): an address in an id-like
//! field (an id, a model name, a tool name, metadata) is left alone, one in content (a model's
//! message text, a tool result's text and `structuredContent`, an agent's text and data parts)
//! is redacted, on LLM, MCP and A2A responses.

#![allow(clippy::unwrap_used)]

use agent_gateway_a2a::response::A2aResponse;
use agent_gateway_core::{Action, AgentResponse, Call, UsageReport};
use agent_gateway_llm::LlmResponse;
use agent_gateway_mcp::McpResponse;
use agent_gateway_policy::guard::pii::PiiGuard;
use agent_gateway_policy::guard::{Exchange, Guardrail, Verdict};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

const MAIL: &str = "ann.lee@example.com";
const REDACTED: &str = "[REDACTED:email]";

/// Runs the default PII rail on `response` and returns its output after.
fn redacted(response: &mut dyn AgentResponse) -> Value {
    let exchange = Exchange::of(&Call::new(Action::ToolCall, json!({})));
    let verdict = PiiGuard::default().on_response(&exchange, response);
    assert_eq!(verdict, Verdict::mutated("pii.email"));
    response.output().unwrap().clone()
}

#[test]
fn an_llm_answer_keeps_its_ids_and_loses_the_address_in_its_text() {
    let v = json!({"id": MAIL, "model": MAIL, "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": format!("write to {MAIL}")}}]});
    let mut res = LlmResponse::json(
        StatusCode::OK,
        HeaderMap::new(),
        Bytes::from(v.to_string()),
        v,
        UsageReport::new(),
    );
    let out = redacted(&mut res);
    assert_eq!(
        (out["id"].as_str(), out["model"].as_str()),
        (Some(MAIL), Some(MAIL))
    );
    assert_eq!(
        out["choices"][0]["message"]["content"],
        format!("write to {REDACTED}")
    );
}

#[test]
fn an_mcp_tool_result_keeps_its_metadata_and_loses_the_address_in_its_content() {
    let result = json!({
        "content": [{"type": "text", "text": MAIL, "_meta": {"owner": MAIL}}],
        "structuredContent": {"email": MAIL},
        "_meta": {"requestedBy": MAIL},
    });
    let mut res = McpResponse::for_method("tools/call", result);
    let out = redacted(&mut res);
    assert_eq!(out["content"][0]["text"], REDACTED);
    assert_eq!(out["content"][0]["_meta"]["owner"], MAIL);
    assert_eq!(out["structuredContent"]["email"], REDACTED);
    assert_eq!(out["_meta"]["requestedBy"], MAIL);
}

#[test]
fn an_a2a_result_keeps_its_ids_and_loses_the_address_in_its_parts() {
    for (text, data) in [
        (json!({"text": MAIL}), json!({"data": {"to": MAIL}})),
        (
            json!({"kind": "text", "text": MAIL}),
            json!({"kind": "data", "data": {"to": MAIL}}),
        ),
    ] {
        let result = json!({"message": {"messageId": MAIL, "contextId": MAIL, "role": "agent",
            "metadata": {"from": MAIL}, "parts": [text, data]}});
        let mut res = A2aResponse::result(result);
        let out = redacted(&mut res);
        let msg = &out["message"];
        assert_eq!(
            (msg["messageId"].as_str(), msg["contextId"].as_str()),
            (Some(MAIL), Some(MAIL))
        );
        assert_eq!(msg["metadata"]["from"], MAIL);
        assert_eq!(msg["parts"][0]["text"], REDACTED);
        assert_eq!(msg["parts"][1]["data"]["to"], REDACTED);
    }
}
