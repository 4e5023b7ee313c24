//! Resource URIs inside results: a tool's resource links and embedded resources, and a
//! prompt's, are rewritten to the client's names (`server+uri`), as listings and reads are, so
//! that a client can read through the gateway a resource a tool pointed it to.
//!
//! A content block naming a resource is a `resource_link` (`uri`) or an embedded `resource`
//! (`resource.uri`). A tool result holds blocks in `content`; a prompt result in each
//! message's `content`, one block or several. A URI that has no client form (an unprefixed
//! member's URI that reads as another member's, see `Shared::public_name`) is left as the
//! upstream wrote it.

use serde_json::{Map, Value};

use super::Shared;
use super::member::Member;
use crate::method::McpMethod;

/// Rewrites, in place, the resource URIs of `method`'s `result` from `member` to the client's
/// names.
pub(super) fn publish(
    shared: &Shared,
    member: &Member,
    method: &McpMethod,
    result: &mut Map<String, Value>,
) {
    match method {
        McpMethod::ToolsCall => {
            if let Some(content) = result.get_mut("content") {
                blocks(shared, member, content);
            }
        }
        McpMethod::PromptsGet => {
            if let Some(Value::Array(messages)) = result.get_mut("messages") {
                for message in messages {
                    if let Some(content) = message.get_mut("content") {
                        blocks(shared, member, content);
                    }
                }
            }
        }
        McpMethod::ResourcesRead => {
            if let Some(Value::Array(contents)) = result.get_mut("contents") {
                for c in contents {
                    rename(shared, member, c);
                }
            }
        }
        _ => {}
    }
}

/// One content block or an array of them.
fn blocks(shared: &Shared, member: &Member, content: &mut Value) {
    match content {
        Value::Array(items) => {
            for item in items {
                block(shared, member, item);
            }
        }
        one => block(shared, member, one),
    }
}

fn block(shared: &Shared, member: &Member, block: &mut Value) {
    match block.get("type").and_then(Value::as_str) {
        Some("resource_link") => rename(shared, member, block),
        Some("resource") => {
            if let Some(resource) = block.get_mut("resource") {
                rename(shared, member, resource);
            }
        }
        _ => {}
    }
}

/// Rewrites `item["uri"]` to the client's form, when it has one.
fn rename(shared: &Shared, member: &Member, item: &mut Value) {
    let Some(public) = item
        .get("uri")
        .and_then(Value::as_str)
        .and_then(|uri| shared.public_name(member, uri, true))
    else {
        return;
    };
    item["uri"] = Value::String(public);
}
