//! Calls through a federation: the name says which upstream owns it; the call goes to exactly
//! that one, with the upstream's own name, or nowhere.

use agent_gateway_core::BoxError;
use serde_json::{Map, Value};

use super::Shared;
use crate::McpError;
use crate::method::McpMethod;
use crate::upstream::UpstreamRequest;

fn unknown(kind: &'static str, name: &str) -> BoxError {
    Box::new(McpError::UnknownName {
        kind,
        name: name.to_owned(),
    })
}

fn string<'a>(params: &'a Map<String, Value>, key: &str) -> Result<&'a str, BoxError> {
    params.get(key).and_then(Value::as_str).ok_or_else(|| {
        Box::new(McpError::InvalidParams(format!("missing string `{key}`"))) as BoxError
    })
}

/// Sends `req` to the member its name says, in the member's own names. `param_headers` are
/// the client's `Mcp-Param-*` headers, checked against the tool's declarations when the client
/// is `modern`.
pub(super) async fn call(
    shared: &Shared,
    mut req: UpstreamRequest,
    param_headers: http::HeaderMap,
    modern: bool,
) -> Result<Map<String, Value>, BoxError> {
    let method = req.mcp_method().clone();
    let params = req.params_mut();
    let mut upstream_headers = Vec::new();
    let member = match &method {
        McpMethod::ToolsCall | McpMethod::PromptsGet => {
            let tool = method == McpMethod::ToolsCall;
            let kind = if tool { "tool" } else { "prompt" };
            let name = string(params, "name")?;
            let (member, original) = shared
                .owner(name, false)
                .ok_or_else(|| unknown(kind, name))?;
            if tool && !member.view.allows(original) {
                return Err(unknown(kind, name));
            }
            let original = original.to_owned();
            if tool {
                let declared = shared.declarations.of(member, &original);
                let no_args = Map::new();
                let args = match params.get("arguments") {
                    Some(Value::Object(a)) => a,
                    _ => &no_args,
                };
                if modern {
                    super::params::check(&param_headers, &declared, args)?;
                }
                upstream_headers = super::params::upstream_headers(&param_headers, &declared, args);
            }
            params.insert("name".into(), Value::String(original));
            member
        }
        McpMethod::ResourcesRead => {
            let uri = string(params, "uri")?;
            let (member, original) = shared
                .owner(uri, true)
                .ok_or_else(|| unknown("resource", uri))?;
            let original = original.to_owned();
            params.insert("uri".into(), Value::String(original));
            member
        }
        McpMethod::CompletionComplete => {
            let r = params.get("ref").cloned().unwrap_or(Value::Null);
            let (key, is_uri) = match r.get("type").and_then(Value::as_str) {
                Some("ref/prompt") => ("name", false),
                Some("ref/resource") => ("uri", true),
                _ => return Err(Box::new(McpError::InvalidParams("invalid ref".into()))),
            };
            let name = r.get(key).and_then(Value::as_str).unwrap_or("");
            let (member, original) = shared
                .owner(name, is_uri)
                .ok_or_else(|| unknown("reference", name))?;
            let original = original.to_owned();
            if let Some(Value::Object(r)) = params.get_mut("ref") {
                r.insert(key.into(), Value::String(original));
            }
            member
        }
        other => return Err(Box::new(McpError::MethodNotFound(other.to_string()))),
    };
    let req = req.with_param_headers(upstream_headers);
    let owner = member.clone();
    let send = move |r| {
        let m = owner.clone();
        async move { m.send(r).await }
    };
    let mut result = crate::router::translate::send_fulfilling(req, &shared.parked, send).await?;
    if method == McpMethod::ResourcesRead
        && let Some(Value::Array(contents)) = result.get_mut("contents")
    {
        for c in contents {
            if let Some(joined) = c
                .get("uri")
                .and_then(Value::as_str)
                .and_then(|uri| shared.public_name(member, uri, true))
            {
                c["uri"] = Value::String(joined);
            }
        }
    }
    Ok(result)
}
