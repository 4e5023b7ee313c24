//! The MCP response as the policy layers see it: a JSON-RPC result whose listed tools, prompts
//! and resources a policy layer can filter per caller.
//!
//! ```
//! use agent_gateway_core::AgentResponse;
//! use agent_gateway_mcp::McpResponse;
//! use serde_json::json;
//!
//! let mut res = McpResponse::for_method("tools/list", json!({"tools": [{"name": "a__read"}, {"name": "a__delete"}]}));
//! // A policy layer hides what the caller may not call.
//! let removed = res.retain_items(&mut |item| !item.name.ends_with("delete"));
//! assert_eq!(removed, 1);
//! assert_eq!(res.result()["tools"], json!([{"name": "a__read"}]));
//!
//! // A tool call result is not a listing: nothing to filter.
//! let mut call = McpResponse::for_method("tools/call", json!({"content": []}));
//! assert_eq!(call.retain_items(&mut |_| false), 0);
//! ```

use agent_gateway_core::response::{Item, Outcome, ServedBy};
use agent_gateway_core::{Action, AgentResponse, Usage, UsageReport};
use serde_json::{Map, Value};

use crate::method::McpMethod;

/// Where a listing keeps its items: the result member, the action that uses an item, and the
/// item member that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// The result member holding the array (`tools`, `prompts`, ...).
    pub key: &'static str,
    /// The action that would use a listed item.
    pub action: Action,
    /// The item member that is the item's name as the caller uses it.
    pub name: &'static str,
}

impl ListShape {
    /// The shape of a listing method's result, or `None` if `method` lists nothing.
    pub fn of_method(method: &str) -> Option<ListShape> {
        ListShape::of(&McpMethod::parse(method))
    }

    /// The shape of a listing method's result, or `None` if `method` lists nothing.
    pub fn of(method: &McpMethod) -> Option<ListShape> {
        let (key, action, name) = match method {
            McpMethod::ToolsList => ("tools", Action::ToolCall, "name"),
            McpMethod::PromptsList => ("prompts", Action::GetPrompt, "name"),
            McpMethod::ResourcesList => ("resources", Action::ReadResource, "uri"),
            McpMethod::ResourcesTemplatesList => {
                ("resourceTemplates", Action::ReadResource, "uriTemplate")
            }
            _ => return None,
        };
        Some(ListShape { key, action, name })
    }
}

/// One MCP result, with its usage report. Its output (the result object) is what a guardrail
/// reads through [`AgentResponse::output`].
#[derive(Debug, Clone)]
pub struct McpResponse {
    /// Always an object: kept as a `Value` so [`AgentResponse::output`] can lend it.
    result: Value,
    shape: Option<ListShape>,
    usage: UsageReport,
    served: Option<ServedBy>,
}

impl McpResponse {
    /// The result of `method`; a listing's items are exposed to [`AgentResponse::retain_items`].
    /// Anything but an object becomes an empty result. Usage is reported at once: one step for
    /// a tool call, a prompt get or a resource read (what a run budget counts), none otherwise.
    pub fn for_method(method: impl Into<McpMethod>, result: Value) -> Self {
        let method = method.into();
        let result = match result {
            Value::Object(map) => Value::Object(map),
            _ => Value::Object(Map::new()),
        };
        let usage = UsageReport::new();
        let used = if method.counts_as_step() {
            Usage::step()
        } else {
            Usage::default()
        };
        usage.complete(used, Outcome::Complete);
        McpResponse {
            result,
            shape: ListShape::of(&method),
            usage,
            served: None,
        }
    }

    /// Says which upstream server (and instance) answered, for the audit record
    /// ([`AgentResponse::served_by`]).
    pub fn with_served_by(mut self, served: ServedBy) -> Self {
        self.served = Some(served);
        self
    }

    /// The result object.
    pub fn result(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.result
            .as_object()
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The result object, mutably.
    pub fn result_mut(&mut self) -> &mut Map<String, Value> {
        if !self.result.is_object() {
            self.result = Value::Object(Map::new());
        }
        match &mut self.result {
            Value::Object(map) => map,
            _ => unreachable!("the result was just made an object"),
        }
    }

    /// The listing shape, if this is a listing.
    pub fn shape(&self) -> Option<ListShape> {
        self.shape
    }

    /// The result object, consumed.
    pub fn into_result(self) -> Map<String, Value> {
        match self.result {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

impl AgentResponse for McpResponse {
    fn usage_report(&self) -> Option<&UsageReport> {
        Some(&self.usage)
    }

    fn output(&self) -> Option<&Value> {
        Some(&self.result)
    }

    fn served_by(&self) -> Option<&ServedBy> {
        self.served.as_ref()
    }

    fn output_mut(&mut self) -> Option<&mut Value> {
        // Stays an object: the front encodes the result from this value.
        Some(&mut self.result)
    }

    /// A tool result's `content[]` text (and embedded resources' text) and its
    /// `structuredContent`, a resource read's `contents[].text`, a prompt's messages' text;
    /// other results cannot tell their content apart.
    fn content_mut(&mut self, f: &mut dyn FnMut(&mut Value)) -> bool {
        let Some(map) = self.result.as_object_mut() else {
            return false;
        };
        let mut found = false;
        let text_of = |item: &mut Value, f: &mut dyn FnMut(&mut Value)| {
            if let Some(text) = item.get_mut("text") {
                f(text);
            }
            if let Some(text) = item.get_mut("resource").and_then(|r| r.get_mut("text")) {
                f(text);
            }
        };
        for (key, value) in map.iter_mut() {
            match (key.as_str(), value) {
                ("content" | "contents", Value::Array(items)) => {
                    found = true;
                    items.iter_mut().for_each(|item| text_of(item, f));
                }
                ("messages", Value::Array(messages)) => {
                    found = true;
                    for content in messages.iter_mut().filter_map(|m| m.get_mut("content")) {
                        text_of(content, f);
                    }
                }
                ("structuredContent", value) => {
                    found = true;
                    f(value);
                }
                _ => {}
            }
        }
        found
    }

    fn retain_items(&mut self, keep: &mut dyn FnMut(&Item<'_>) -> bool) -> usize {
        let Some(shape) = self.shape else { return 0 };
        let Some(Value::Array(items)) = self.result.get_mut(shape.key) else {
            return 0;
        };
        let before = items.len();
        items.retain(|value| {
            // An item without a usable name cannot be authorised, so it is not shown.
            let Some(name) = value.get(shape.name).and_then(Value::as_str) else {
                return false;
            };
            keep(&Item {
                action: shape.action,
                name,
                value,
            })
        });
        before - items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_filter_by_uri_and_nameless_items_go() {
        let mut res = McpResponse::for_method(
            "resources/list",
            json!({"resources": [{"uri": "a://1", "name": "one"}, {"uri": "a://2"}, {"name": "no uri"}]}),
        );
        let mut seen = Vec::new();
        let removed = res.retain_items(&mut |item| {
            seen.push((item.action, item.name.to_owned()));
            item.name != "a://2"
        });
        assert_eq!(removed, 2);
        assert_eq!(
            seen,
            [
                (Action::ReadResource, "a://1".to_owned()),
                (Action::ReadResource, "a://2".to_owned())
            ]
        );
        assert_eq!(
            res.result()["resources"],
            json!([{"uri": "a://1", "name": "one"}])
        );
        let (usage, _) = res.usage_report().and_then(UsageReport::usage).unwrap();
        assert_eq!(usage.steps, 0, "a listing is no step");
        let call = McpResponse::for_method("tools/call", json!({"content": [{"type": "text"}]}));
        assert_eq!(call.output(), Some(&json!({"content": [{"type": "text"}]})));
        let (usage, outcome) = call.usage_report().and_then(UsageReport::usage).unwrap();
        assert_eq!((usage.steps, outcome), (1, Outcome::Complete));
    }
}
