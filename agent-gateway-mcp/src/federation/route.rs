//! Calls through a federation: the name says which upstream owns it; the call goes to exactly
//! that one, with the upstream's own name, or nowhere.

use agent_gateway_core::BoxError;
use serde_json::{Map, Value};

use super::Shared;
use crate::McpError;
use crate::notify::Notifier;
use crate::request::ClientHop;
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

/// What travels with a call besides its parameters.
pub(super) struct Hop {
    pub(super) notifier: Option<Notifier>,
    pub(super) client: Option<ClientHop>,
    /// The client's `Mcp-Param-*` headers (modern clients only).
    pub(super) param_headers: http::HeaderMap,
    pub(super) modern: bool,
}

pub(super) async fn call(
    shared: &Shared,
    method: &str,
    mut params: Map<String, Value>,
    hop: Hop,
) -> Result<Map<String, Value>, BoxError> {
    let mut upstream_headers = Vec::new();
    let member = match method {
        "tools/call" | "prompts/get" => {
            let kind = if method == "tools/call" {
                "tool"
            } else {
                "prompt"
            };
            let name = string(&params, "name")?;
            let (member, original) = shared
                .owner(name, false)
                .ok_or_else(|| unknown(kind, name))?;
            if kind == "tool" && !member.view.allows(original) {
                return Err(unknown(kind, name));
            }
            let original = original.to_owned();
            if kind == "tool" {
                let declared = shared.declarations.of(member, &original);
                let args = match params.get("arguments") {
                    Some(Value::Object(a)) => a.clone(),
                    _ => Map::new(),
                };
                if hop.modern {
                    super::params::check(&hop.param_headers, &declared, &args)?;
                }
                upstream_headers =
                    super::params::upstream_headers(&hop.param_headers, &declared, &args);
            }
            params.insert("name".into(), Value::String(original));
            member
        }
        "resources/read" => {
            let uri = string(&params, "uri")?;
            let (member, original) = shared
                .owner(uri, true)
                .ok_or_else(|| unknown("resource", uri))?;
            let original = original.to_owned();
            params.insert("uri".into(), Value::String(original));
            member
        }
        "completion/complete" => {
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
        other => return Err(Box::new(McpError::MethodNotFound(other.to_owned()))),
    };
    let req = UpstreamRequest::new(method, params)
        .with_notifier(hop.notifier)
        .with_client(hop.client)
        .with_param_headers(upstream_headers);
    let owner = member.clone();
    let send = move |r| {
        let m = owner.clone();
        async move { m.send(r).await }
    };
    let mut result = crate::input::send_fulfilling(req, &shared.parked, send).await?;
    if method == "resources/read"
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
