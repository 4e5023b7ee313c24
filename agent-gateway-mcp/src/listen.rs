//! Change notifications a client listens for: which ones ([`ListenFilter`]), and the method
//! names of both eras.
//!
//! A modern (2026-07-28) client sends `subscriptions/listen` with a filter; the answer is an SSE
//! stream that opens with `notifications/subscriptions/acknowledged` (the honoured subset of
//! the filter) and then carries only the notifications the filter names, each tagged with the
//! listen request's id under `_meta["io.modelcontextprotocol/subscriptionId"]`. A legacy
//! (2025-11-25) client gets the list-changed notifications on its session's GET stream, and
//! the `notifications/resources/updated` of the URIs it named with `resources/subscribe`.
//!
//! Inside the gateway both become one `subscriptions/listen` request carrying a
//! [`Notifier`](crate::notify::Notifier) made with [`Notifier::listen`](crate::notify::Notifier::listen):
//! an upstream service acknowledges, then relays matching notifications through it, for as
//! long as its future is polled. Dropping the future ends the listen upstream.
//!
//! ```
//! use agent_gateway_mcp::listen::{ListenFilter, RESOURCE_UPDATED, TOOLS_LIST_CHANGED};
//! use serde_json::{Map, json};
//!
//! let params = json!({"notifications": {"toolsListChanged": true,
//!                                         "resourceSubscriptions": ["file:///a"]}});
//! let filter = ListenFilter::from_params(params.as_object().unwrap()).unwrap();
//! assert!(filter.admits(TOOLS_LIST_CHANGED, &Map::new()));
//! let updated = |uri: &str| json!({"uri": uri}).as_object().cloned().unwrap();
//! assert!(filter.admits(RESOURCE_UPDATED, &updated("file:///a")));
//! assert!(!filter.admits(RESOURCE_UPDATED, &updated("file:///b")));
//! // Not asked for: never admitted.
//! assert!(!filter.admits("notifications/prompts/list_changed", &Map::new()));
//! assert_eq!(filter.to_value(), json!({"toolsListChanged": true,
//!                                      "resourceSubscriptions": ["file:///a"]}));
//! ```

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::McpError;

/// The modern request that opens a notification stream.
pub const LISTEN: &str = "subscriptions/listen";
/// The first notification of a listen stream: the subset of the filter that is honoured.
pub const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
/// The server's tool list changed.
pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
/// The server's prompt list changed.
pub const PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
/// The server's resource list changed.
pub const RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
/// A subscribed resource changed: params `{uri}`.
pub const RESOURCE_UPDATED: &str = "notifications/resources/updated";
/// The legacy request subscribing a session to one resource's updates.
pub const SUBSCRIBE: &str = "resources/subscribe";
/// The legacy request ending a session's subscription to one resource.
pub const UNSUBSCRIBE: &str = "resources/unsubscribe";
/// The `_meta` key every notification of a modern listen stream carries: the listen
/// request's JSON-RPC id.
pub const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The most resource URIs one listen may name: a bound on what one request makes the gateway
/// hold.
pub const MAX_RESOURCE_SUBSCRIPTIONS: usize = 256;

/// Which change notifications a listener wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenFilter {
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: BTreeSet<String>,
}

impl ListenFilter {
    /// A filter admitting nothing.
    pub fn new() -> Self {
        ListenFilter::default()
    }

    /// A filter admitting the three list-changed notifications: what a legacy GET stream
    /// carries.
    pub fn all_lists() -> Self {
        ListenFilter::new().tools().prompts().resources()
    }

    /// Admits `notifications/tools/list_changed`.
    pub fn tools(mut self) -> Self {
        self.tools = true;
        self
    }

    /// Admits `notifications/prompts/list_changed`.
    pub fn prompts(mut self) -> Self {
        self.prompts = true;
        self
    }

    /// Admits `notifications/resources/list_changed`.
    pub fn resources(mut self) -> Self {
        self.resources = true;
        self
    }

    /// Admits `notifications/resources/updated` for `uri`.
    pub fn resource(mut self, uri: impl Into<String>) -> Self {
        self.uris.insert(uri.into());
        self
    }

    /// The filter of a `subscriptions/listen` request's params (`notifications`), or -32602
    /// when it is missing, not an object, or names too many resources.
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, McpError> {
        let invalid = |d: &str| McpError::InvalidParams(d.to_owned());
        let Some(Value::Object(n)) = params.get("notifications") else {
            return Err(invalid("notifications must be an object"));
        };
        let flag = |key: &str| n.get(key).and_then(Value::as_bool).unwrap_or(false);
        let mut filter = ListenFilter {
            tools: flag("toolsListChanged"),
            prompts: flag("promptsListChanged"),
            resources: flag("resourcesListChanged"),
            uris: BTreeSet::new(),
        };
        match n.get("resourceSubscriptions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(uris)) => {
                for uri in uris {
                    let uri = uri
                        .as_str()
                        .ok_or_else(|| invalid("resourceSubscriptions must hold strings"))?;
                    filter.uris.insert(uri.to_owned());
                }
            }
            Some(_) => return Err(invalid("resourceSubscriptions must be an array")),
        }
        if filter.uris.len() > MAX_RESOURCE_SUBSCRIPTIONS {
            return Err(invalid("too many resourceSubscriptions"));
        }
        Ok(filter)
    }

    /// The filter on the wire: only the flags that are set, and the URIs if there are any.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        for (on, key) in [
            (self.tools, "toolsListChanged"),
            (self.prompts, "promptsListChanged"),
            (self.resources, "resourcesListChanged"),
        ] {
            if on {
                m.insert(key.into(), json!(true));
            }
        }
        if !self.uris.is_empty() {
            m.insert("resourceSubscriptions".into(), json!(self.uris));
        }
        Value::Object(m)
    }

    /// The params of a `subscriptions/listen` request with this filter.
    pub fn to_params(&self) -> Map<String, Value> {
        Map::from_iter([("notifications".to_owned(), self.to_value())])
    }

    /// Whether the filter admits nothing.
    pub fn is_empty(&self) -> bool {
        !self.tools && !self.prompts && !self.resources && self.uris.is_empty()
    }

    /// The same list-changed flags, and no resources.
    pub fn lists_only(&self) -> Self {
        ListenFilter {
            uris: BTreeSet::new(),
            ..self.clone()
        }
    }

    /// The resource URIs.
    pub fn resource_uris(&self) -> impl Iterator<Item = &str> {
        self.uris.iter().map(String::as_str)
    }

    /// What both filters admit.
    pub fn intersect(&self, other: &ListenFilter) -> ListenFilter {
        ListenFilter {
            tools: self.tools && other.tools,
            prompts: self.prompts && other.prompts,
            resources: self.resources && other.resources,
            uris: self.uris.intersection(&other.uris).cloned().collect(),
        }
    }

    /// Whether a notification `method` with `params` is one this filter asks for. A resource
    /// update is admitted for a subscribed URI and for the URIs under it (`<uri>/...`), which
    /// the spec allows servers to report.
    pub fn admits(&self, method: &str, params: &Map<String, Value>) -> bool {
        match method {
            TOOLS_LIST_CHANGED => self.tools,
            PROMPTS_LIST_CHANGED => self.prompts,
            RESOURCES_LIST_CHANGED => self.resources,
            RESOURCE_UPDATED => params
                .get("uri")
                .and_then(Value::as_str)
                .is_some_and(|uri| self.covers(uri)),
            _ => false,
        }
    }

    fn covers(&self, uri: &str) -> bool {
        if self.uris.contains(uri) {
            return true;
        }
        self.uris.iter().any(|s| {
            uri.strip_prefix(s.as_str())
                .is_some_and(|rest| rest.starts_with('/') || s.ends_with('/'))
        })
    }
}

/// Removes the subscription id a listen stream's hop put in `params._meta` (each hop tags
/// with its own), dropping `_meta` when nothing else is left in it.
pub(crate) fn untag(params: &mut Map<String, Value>) {
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        meta.remove(META_SUBSCRIPTION_ID);
        if meta.is_empty() {
            params.remove("_meta");
        }
    }
}

/// Puts `id` in `params._meta` as the subscription id.
pub(crate) fn tag(params: &mut Map<String, Value>, id: Value) {
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Value::Object(meta) = meta {
        meta.insert(META_SUBSCRIPTION_ID.into(), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn parsing_bounds_and_sub_resources() {
        assert!(ListenFilter::from_params(&Map::new()).is_err());
        let bad = obj(json!({"notifications": {"resourceSubscriptions": [1]}}));
        assert!(ListenFilter::from_params(&bad).is_err());
        let many: Vec<String> = (0..=MAX_RESOURCE_SUBSCRIPTIONS)
            .map(|i| format!("a://{i}"))
            .collect();
        let many = obj(json!({"notifications": {"resourceSubscriptions": many}}));
        assert!(ListenFilter::from_params(&many).is_err());
        let empty = ListenFilter::from_params(&obj(json!({"notifications": {}}))).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.to_value(), json!({}));

        let f = ListenFilter::new().resource("file:///dir");
        let updated = |uri: &str| obj(json!({"uri": uri}));
        assert!(f.admits(RESOURCE_UPDATED, &updated("file:///dir/a")));
        assert!(!f.admits(RESOURCE_UPDATED, &updated("file:///directory")));
        assert!(!f.admits(RESOURCE_UPDATED, &Map::new()));
        assert!(!f.admits(TOOLS_LIST_CHANGED, &Map::new()));
        assert_eq!(
            ListenFilter::all_lists()
                .resource("x")
                .intersect(&ListenFilter::new().tools().resource("x").resource("y")),
            ListenFilter::new().tools().resource("x")
        );
    }

    #[test]
    fn tags_replace_each_hop() {
        let mut p = obj(json!({"uri": "u", "_meta": {META_SUBSCRIPTION_ID: 3}}));
        untag(&mut p);
        assert_eq!(Value::Object(p.clone()), json!({"uri": "u"}));
        tag(&mut p, json!("listen-1"));
        assert_eq!(p["_meta"][META_SUBSCRIPTION_ID], "listen-1");
    }
}
