//! The tool calls of a whole model answer, in each wire format, for a guardrail's
//! [`ToolCallCheck`].

use serde_json::Value;

use agent_gateway_core::content::{Blocked, ToolCall, ToolCallCheck};

/// Hands every tool call of `answer` to `check`, in answer order: Chat Completions
/// `choices[].message.tool_calls[].function` (arguments a JSON string), Responses `output[]`
/// items of type `function_call` (arguments a JSON string), Anthropic `content[]` blocks of
/// type `tool_use` (arguments the `input` object). The first block wins.
pub(crate) fn check_answer(answer: &Value, check: &mut dyn ToolCallCheck) -> Result<(), Blocked> {
    if let Some(choices) = answer.get("choices").and_then(Value::as_array) {
        let calls = choices
            .iter()
            .filter_map(|c| c.pointer("/message/tool_calls").and_then(Value::as_array))
            .flatten()
            .filter_map(|c| c.get("function"));
        for function in calls {
            encoded(function, "arguments", check)?;
        }
    } else if let Some(output) = answer.get("output").and_then(Value::as_array) {
        for item in output.iter().filter(|i| i["type"] == "function_call") {
            encoded(item, "arguments", check)?;
        }
    } else if let Some(content) = answer.get("content").and_then(Value::as_array) {
        for block in content.iter().filter(|b| b["type"] == "tool_use") {
            let empty = Value::Object(serde_json::Map::new());
            check.check(&ToolCall {
                name: block["name"].as_str().unwrap_or(""),
                arguments: Some(block.get("input").unwrap_or(&empty)),
            })?;
        }
    }
    Ok(())
}

/// Checks a call whose arguments are a JSON string at `key` of `call` (an empty one is `{}`).
fn encoded(call: &Value, key: &str, check: &mut dyn ToolCallCheck) -> Result<(), Blocked> {
    let text = call.get(key).and_then(Value::as_str).unwrap_or("");
    let arguments = if text.trim().is_empty() {
        Some(Value::Object(serde_json::Map::new()))
    } else {
        serde_json::from_str(text).ok()
    };
    check.check(&ToolCall {
        name: call["name"].as_str().unwrap_or(""),
        arguments: arguments.as_ref(),
    })
}
