//! Request fields that change what a call costs, or which tools run at the provider, beyond
//! the token counts the gateway prices (finding 23): they reach a provider only when the
//! deployment allows them.

use std::fmt;

use http::HeaderMap;
use serde_json::Value;

/// A price- or tool-changing request feature, refused unless the deployment allows it
/// ([`Deployment::with_features`](crate::router::Deployment::with_features)).
///
/// Costs are computed from token counts at the deployment's configured price. These features
/// are billed otherwise (priority tiers, long-context betas, tool fees, generations that go on
/// after the call), so a client must not switch them on alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Feature {
    /// The `anthropic-beta` header: betas can switch on long-context pricing, new tools, …
    AnthropicBeta,
    /// A `service_tier` other than `auto`/`default`/`standard_only` (`priority`, `flex`,
    /// `scale`): a different price per token.
    ServiceTier,
    /// Responses `background: true`: a generation that goes on after the call.
    Background,
    /// Tools that run at the provider and are billed per use: Responses' and Anthropic's typed
    /// tools (web search, file search, code execution, computer use, MCP, …), chat's
    /// `web_search_options`, Anthropic's `mcp_servers` and `container`.
    ServerTools,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 4] = [
        Feature::AnthropicBeta,
        Feature::ServiceTier,
        Feature::Background,
        Feature::ServerTools,
    ];

    /// Its name in configuration and in error messages: `anthropic_beta`, `service_tier`,
    /// `background`, `server_tools`.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::AnthropicBeta => "anthropic_beta",
            Feature::ServiceTier => "service_tier",
            Feature::Background => "background",
            Feature::ServerTools => "server_tools",
        }
    }

    /// The feature named `name`, as [`as_str`](Self::as_str) spells it.
    pub fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The request parameter (or header) that uses it, for the error's `param`.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Feature::AnthropicBeta => "anthropic-beta",
            Feature::ServiceTier => "service_tier",
            Feature::Background => "background",
            Feature::ServerTools => "tools",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gated features a request uses: from its body and its headers.
pub(crate) fn used(body: &Value, headers: &HeaderMap) -> Vec<Feature> {
    let mut used = Vec::new();
    if headers.contains_key("anthropic-beta") {
        used.push(Feature::AnthropicBeta);
    }
    let tier = body.get("service_tier");
    if tier.is_some_and(|t| {
        !t.is_null() && !matches!(t.as_str(), Some("auto" | "default" | "standard_only"))
    }) {
        used.push(Feature::ServiceTier);
    }
    if body
        .get("background")
        .is_some_and(|b| !b.is_null() && b != &Value::Bool(false))
    {
        used.push(Feature::Background);
    }
    let server_tool = |tool: &Value| {
        tool.get("type")
            .is_some_and(|t| !matches!(t.as_str(), Some("function" | "custom")))
    };
    let tools = body.get("tools").and_then(Value::as_array);
    if tools.is_some_and(|tools| tools.iter().any(server_tool))
        || ["web_search_options", "mcp_servers", "container"]
            .iter()
            .any(|field| body.get(*field).is_some_and(|v| !v.is_null()))
    {
        used.push(Feature::ServerTools);
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_feature_is_seen_where_it_is_used() {
        let none = HeaderMap::new();
        let plain = json!({"model": "m", "service_tier": "auto", "background": false,
            "tools": [{"type": "function", "function": {"name": "f"}}, {"name": "anthropic_custom", "input_schema": {}}]});
        assert!(used(&plain, &none).is_empty());
        let cases = [
            (json!({"service_tier": "priority"}), Feature::ServiceTier),
            (json!({"service_tier": 7}), Feature::ServiceTier),
            (json!({"background": true}), Feature::Background),
            (
                json!({"tools": [{"type": "web_search_preview"}]}),
                Feature::ServerTools,
            ),
            (
                json!({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}),
                Feature::ServerTools,
            ),
            (json!({"web_search_options": {}}), Feature::ServerTools),
            (json!({"mcp_servers": []}), Feature::ServerTools),
            (json!({"container": "c"}), Feature::ServerTools),
        ];
        for (body, feature) in cases {
            assert_eq!(used(&body, &none), [feature], "{body}");
        }
        let mut beta = HeaderMap::new();
        beta.insert("anthropic-beta", "context-1m-2025-08-07".parse().unwrap());
        assert_eq!(used(&json!({}), &beta), [Feature::AnthropicBeta]);
        for f in Feature::ALL {
            assert_eq!(Feature::from_name(f.as_str()), Some(f));
        }
    }
}
