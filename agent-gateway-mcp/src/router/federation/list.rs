//! Listing through a federation, one page at a time: every upstream that still has items is
//! asked for its next page at once, the items are renamed and filtered by the tool views and
//! merged in upstream order, and the page's `nextCursor` encodes each upstream's own position.
//! Each upstream is asked with the client's capabilities, as the connector hops them: a
//! legacy HTTP upstream answers on the upstream session of the client's session, or, for a
//! modern client, on the one shared by every client declaring the same capabilities (the
//! connector's bounded, idle-expiring session table); so a client declaring roots sees the
//! tools an upstream shows only to such clients, and a client without sees none of them.
//!
//! A cursor is the gateway's own: base64url of `{"m": method, "p": {server: upstream cursor}}`
//! (an upstream absent from `p` is done). A client presenting a cursor gets the next page of
//! exactly the upstreams it names; a cursor that does not decode, belongs to another method or
//! names an unknown upstream is -32602 and reaches no upstream. Upstream cursors are opaque
//! to the gateway and go back to the upstream that issued them, never to another.

use agent_gateway_core::BoxError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use serde_json::{Map, Value, json};

use super::Shared;
use super::member::Member;
use crate::McpError;
use crate::request::ClientHop;
use crate::response::ListShape;
use crate::upstream::UpstreamRequest;

/// The longest cursor accepted from a client.
const MAX_CURSOR: usize = 8 * 1024;

fn invalid_cursor() -> BoxError {
    Box::new(McpError::InvalidParams("Invalid cursor".into()))
}

/// Each upstream's position: `None` for its first page, `Some(cursor)` for a later one.
type Positions<'a> = Vec<(&'a Member, Option<String>)>;

fn encode(method: &str, next: &[(&Member, String)]) -> String {
    let positions: Map<String, Value> = next
        .iter()
        .map(|(m, c)| (m.name.to_string(), json!(c)))
        .collect();
    URL_SAFE_NO_PAD.encode(json!({"m": method, "p": positions}).to_string())
}

fn decode<'a>(shared: &'a Shared, method: &str, cursor: &Value) -> Result<Positions<'a>, BoxError> {
    let text = cursor.as_str().ok_or_else(invalid_cursor)?;
    if text.len() > MAX_CURSOR {
        return Err(invalid_cursor());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid_cursor())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if value.get("m").and_then(Value::as_str) != Some(method) {
        return Err(invalid_cursor());
    }
    let Some(Value::Object(positions)) = value.get("p") else {
        return Err(invalid_cursor());
    };
    let mut out = Vec::with_capacity(positions.len());
    // In the federation's member order, whatever order the cursor lists them in.
    for member in &shared.members {
        if let Some(c) = positions.get(member.name.as_str()) {
            let c = c.as_str().ok_or_else(invalid_cursor)?;
            out.push((member, Some(c.to_owned())));
        }
    }
    if out.len() != positions.len() {
        // It names an upstream this federation does not have.
        return Err(invalid_cursor());
    }
    Ok(out)
}

/// One page of `member`'s listing, asked with the client's capabilities (and, for a legacy
/// client, on its own upstream session): an upstream may show some items only to clients
/// that can use them (a tool that asks for roots, say).
async fn page(
    member: &Member,
    method: &str,
    cursor: Option<String>,
    client: Option<&ClientHop>,
) -> Result<Map<String, Value>, BoxError> {
    let mut params = Map::new();
    if let Some(c) = cursor {
        params.insert("cursor".into(), json!(c));
    }
    let req = UpstreamRequest::new(method, params).with_client(client.cloned());
    member.send(req).await
}

pub(super) async fn list(
    shared: &Shared,
    method: &str,
    shape: ListShape,
    params: &Map<String, Value>,
    client: Option<&ClientHop>,
) -> Result<Map<String, Value>, BoxError> {
    let positions: Positions<'_> = match params.get("cursor") {
        None | Some(Value::Null) => shared.members.iter().map(|m| (m, None)).collect(),
        Some(c) => decode(shared, method, c)?,
    };
    let fetches = positions
        .iter()
        .map(|(m, cursor)| page(m, method, cursor.clone(), client));
    let outcomes = join_all(fetches).await;
    let mut merged = Vec::new();
    let mut next = Vec::new();
    for ((member, _), outcome) in positions.iter().zip(outcomes) {
        let mut result = match outcome {
            Ok(result) => result,
            Err(e) if shared.fail_open => {
                tracing::warn!(upstream = %member.name, error = %e, "mcp: upstream left out of {method}");
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(c) = result.get("nextCursor").and_then(Value::as_str) {
            next.push((*member, c.to_owned()));
        }
        let Some(Value::Array(items)) = result.remove(shape.key) else {
            continue;
        };
        for mut item in items {
            let Some(name) = item.get(shape.name).and_then(Value::as_str) else {
                continue;
            };
            if shape.key == "tools" {
                if !member.view.allows(name) {
                    continue;
                }
                // A tool with invalid `x-mcp-header` declarations is dropped, as clients must.
                match super::params::declarations(&item) {
                    Ok(declared) => shared
                        .declarations
                        .learn(member.name.as_str(), name, declared),
                    Err(()) => {
                        tracing::warn!(upstream = %member.name, tool = name, "mcp: tool dropped, invalid x-mcp-header");
                        continue;
                    }
                }
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
    if !next.is_empty() {
        result.insert("nextCursor".into(), json!(encode(method, &next)));
    }
    Ok(result)
}
