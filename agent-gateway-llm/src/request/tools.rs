//! The tools a request offers the model, in each API's shape.

use serde_json::Value;

use agent_gateway_core::content::ToolDefinition;

use crate::Api;

/// The function tools of `body`, a request of `api`, with their argument schemas: Chat
/// Completions `tools[].function.{name, parameters}`, Responses `tools[].{name, parameters}`
/// (type `function`), Anthropic `tools[].{name, input_schema}`. Built-in tools (web search,
/// code interpreter, …) have no argument schema of the client's and are left out.
pub(super) fn offered(api: Api, body: &Value) -> Vec<ToolDefinition<'_>> {
    let tools = body.get("tools").and_then(Value::as_array);
    let tools = tools.into_iter().flatten();
    match api {
        Api::ChatCompletions => tools
            .filter(|t| t.get("type").is_none_or(|k| k == "function"))
            .filter_map(|t| t.get("function"))
            .filter_map(|f| definition(f, "parameters"))
            .collect(),
        Api::Responses => tools
            .filter(|t| t.get("type").is_some_and(|k| k == "function"))
            .filter_map(|t| definition(t, "parameters"))
            .collect(),
        Api::Messages => tools
            .filter(|t| t.get("input_schema").is_some())
            .filter_map(|t| definition(t, "input_schema"))
            .collect(),
        Api::ListModels => Vec::new(),
    }
}

fn definition<'a>(tool: &'a Value, schema: &str) -> Option<ToolDefinition<'a>> {
    Some(ToolDefinition {
        name: tool.get("name")?.as_str()?,
        schema: tool.get(schema),
    })
}
