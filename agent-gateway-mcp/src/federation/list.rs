//! Listing through a federation: every upstream asked at once, every page fetched, items
//! renamed and filtered by the tool views, then merged in upstream order.

use agent_gateway_core::BoxError;
use futures_util::future::join_all;
use serde_json::{Map, Value, json};

use super::Shared;
use super::member::Member;
use crate::McpError;
use crate::response::ListShape;
use crate::upstream::UpstreamRequest;

/// The most pages read from one upstream for one listing: a bound on a looping cursor.
const MAX_PAGES: usize = 64;

async fn all_pages(member: &Member, method: &str, key: &str) -> Result<Vec<Value>, BoxError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut params = Map::new();
        if let Some(c) = cursor.take() {
            params.insert("cursor".into(), json!(c));
        }
        let mut result = member.send(UpstreamRequest::new(method, params)).await?;
        if let Some(Value::Array(page)) = result.remove(key) {
            items.extend(page);
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    Ok(items)
}

pub(super) async fn list(
    shared: &Shared,
    method: &str,
    shape: ListShape,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, BoxError> {
    if params.get("cursor").is_some_and(|c| !c.is_null()) {
        // The merged list is one page; no cursor was ever handed out.
        return Err(Box::new(McpError::InvalidParams("Invalid cursor".into())));
    }
    let fetches = shared
        .members
        .iter()
        .map(|m| all_pages(m, method, shape.key));
    let outcomes = join_all(fetches).await;
    let mut merged = Vec::new();
    for (member, outcome) in shared.members.iter().zip(outcomes) {
        let items = match outcome {
            Ok(items) => items,
            Err(e) if shared.fail_open => {
                tracing::warn!(upstream = %member.name, error = %e, "mcp: upstream left out of {method}");
                continue;
            }
            Err(e) => return Err(e),
        };
        for mut item in items {
            let Some(name) = item.get(shape.name).and_then(Value::as_str) else {
                continue;
            };
            if shape.key == "tools" && !member.view.allows(name) {
                continue;
            }
            let uri = !matches!(shape.key, "tools" | "prompts");
            let Some(renamed) = shared.public_name(member, name, uri) else {
                continue;
            };
            item[shape.name] = Value::String(renamed);
            merged.push(item);
        }
    }
    let mut result = Map::new();
    result.insert(shape.key.into(), Value::Array(merged));
    Ok(result)
}
