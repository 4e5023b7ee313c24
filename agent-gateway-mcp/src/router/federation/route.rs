//! Calls through a federation: the name says which upstream owns it; the call goes to exactly
//! that one, with the upstream's own name, or nowhere.

use agent_gateway_core::BoxError;
use agent_gateway_core::response::{ServedBy, UpstreamError};
use serde_json::{Map, Value};

use super::Shared;
use super::member::Member;
use crate::McpError;
use crate::method::McpMethod;
use crate::upstream::{AnsweredBy, UpstreamRequest};

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

/// Sends `req` to the member its name says, in the member's own names; the answer, and the
/// member that gave it (for the audit record). `param_headers` are
/// the client's `Mcp-Param-*` headers, checked against the tool's declarations when the client
/// is `modern`, and never sent on: the upstream gets headers computed from the arguments.
pub(super) async fn call(
    shared: &Shared,
    mut req: UpstreamRequest,
    param_headers: http::HeaderMap,
    modern: bool,
) -> Result<(Map<String, Value>, ServedBy), BoxError> {
    let method = req.method().clone();
    let params = req.params_mut();
    let mut upstream_headers = Vec::new();
    let member = match &method {
        McpMethod::ToolsCall => {
            let (member, headers) = rename_tool(shared, params, &param_headers, modern).await?;
            upstream_headers = headers;
            member
        }
        McpMethod::PromptsGet => rename(shared, params, "name", "prompt", false)?,
        McpMethod::ResourcesRead => rename(shared, params, "uri", "resource", true)?,
        McpMethod::CompletionComplete => rename_ref(shared, params)?,
        other => return Err(Box::new(McpError::MethodNotFound(other.to_string()))),
    };
    // A pool says here which of its instances answered.
    let answered = AnsweredBy::default();
    let req = req
        .with_param_headers(upstream_headers)
        .with_answered_by(answered.clone());
    // Each send's future owns a clone of the member's service, not of the whole member.
    let send = |r| member.send(r);
    let upstream = member.name().as_str();
    let served = || match answered.instance() {
        Some(instance) => ServedBy::new(upstream).with_instance(instance),
        None => ServedBy::new(upstream),
    };
    let mut result =
        crate::router::translate::send_fulfilling_on(upstream, req, &shared.parked, send)
            .await
            .map_err(|e| UpstreamError::served_by_on(e, served))?;
    super::links::publish(shared, member, &method, &mut result);
    Ok((result, served()))
}

/// Rewrites `params[key]` (a prompt name or a resource URI) to the member's own form; the
/// member that owns it.
fn rename<'s>(
    shared: &'s Shared,
    params: &mut Map<String, Value>,
    key: &str,
    kind: &'static str,
    is_uri: bool,
) -> Result<&'s Member, BoxError> {
    let name = string(params, key)?;
    let (member, original) = shared
        .owner(name, is_uri)
        .ok_or_else(|| unknown(kind, name))?;
    let original = original.to_owned();
    params.insert(key.into(), Value::String(original));
    Ok(member)
}

/// The `Mcp-Param-*` headers a call carries upstream.
type ParamHeaders = Vec<(http::HeaderName, http::HeaderValue)>;

/// [`rename`] for a tool call, which its member's [`ToolView`](super::ToolView) may hide, and
/// whose mirrored `Mcp-Param-*` headers are checked (modern clients) and computed for the
/// upstream from the arguments and the tool's declarations (fetched if not known yet and the
/// client sent such headers).
async fn rename_tool<'s>(
    shared: &'s Shared,
    params: &mut Map<String, Value>,
    param_headers: &http::HeaderMap,
    modern: bool,
) -> Result<(&'s Member, ParamHeaders), BoxError> {
    let name = string(params, "name")?.to_owned();
    let (member, original) = shared
        .owner(&name, false)
        .ok_or_else(|| unknown("tool", &name))?;
    if !member.view.allows(original) {
        return Err(unknown("tool", &name));
    }
    let original = original.to_owned();
    // Fetched on a miss only for a client that sent headers: it read a declaration.
    let fetch = !param_headers.is_empty();
    let declared = shared.declarations.of(member, &original, fetch).await?;
    let no_args = Map::new();
    let args = match params.get("arguments") {
        Some(Value::Object(a)) => a,
        _ => &no_args,
    };
    if modern {
        super::params::check(param_headers, &declared, args)?;
    }
    let headers = super::params::upstream_headers(&declared, args);
    params.insert("name".into(), Value::String(original));
    Ok((member, headers))
}

/// [`rename`] for a completion's `ref` (a prompt or a resource reference).
fn rename_ref<'s>(
    shared: &'s Shared,
    params: &mut Map<String, Value>,
) -> Result<&'s Member, BoxError> {
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
    Ok(member)
}
