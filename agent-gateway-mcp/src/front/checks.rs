//! The checks made before and right after decoding: origin, HTTP method, media types, and the
//! modern era's `_meta` and mirrored headers.

use agent_gateway_core::jsonrpc::ErrorObject;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::config::McpFrontConfig;
use crate::era::{Era, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_VERSION};
use crate::error::{CODE_HEADER_MISMATCH, CODE_UNSUPPORTED_VERSION, Rendered};
use crate::method::McpMethod;

pub(crate) const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub(crate) const MCP_METHOD: &str = "mcp-method";
pub(crate) const MCP_NAME: &str = "mcp-name";

fn reject(status: StatusCode, message: &'static str) -> Rendered {
    Rendered::new(status, ErrorObject::invalid_request(message))
}

/// `Host` and `Origin` as the front's [`HostPolicy`](agent_gateway_core::host::HostPolicy)
/// allows them (a present `Origin` must be an allowed one; `Host` one of the allowed hosts when
/// any are configured): 403 otherwise.
pub(crate) fn host_and_origin(
    config: &McpFrontConfig,
    uri: &http::Uri,
    headers: &HeaderMap,
) -> Result<(), Rendered> {
    config.hosts.check(uri, headers).map_err(|denied| {
        let message = format!("Forbidden: {}", denied.message());
        Rendered::new(StatusCode::FORBIDDEN, ErrorObject::invalid_request(message))
    })
}

/// `Content-Type` must be `application/json` (parameters allowed): 415 otherwise.
pub(crate) fn content_type(headers: &HeaderMap) -> Result<(), Rendered> {
    let ok = headers.get_all(CONTENT_TYPE).iter().count() == 1
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        ))
    }
}

/// `Accept` must take both `application/json` and `text/event-stream`: 406 otherwise.
pub(crate) fn accept(headers: &HeaderMap) -> Result<(), Rendered> {
    let mut json = false;
    let mut sse = false;
    for value in headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let media = range.split(';').next().unwrap_or("").trim();
            match media.to_ascii_lowercase().as_str() {
                "*/*" => (json, sse) = (true, true),
                "application/*" | "application/json" => json = true,
                "text/*" | "text/event-stream" => sse = true,
                _ => {}
            }
        }
    }
    if json && sse {
        Ok(())
    } else {
        Err(reject(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        ))
    }
}

/// Whether the client takes an SSE answer.
pub(crate) fn accepts_sse(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|range| {
            range
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .any(|media| matches!(media.as_str(), "*/*" | "text/*" | "text/event-stream"))
}

fn header_mismatch(message: String) -> Rendered {
    Rendered::new(
        StatusCode::BAD_REQUEST,
        ErrorObject::new(CODE_HEADER_MISMATCH, format!("Header mismatch: {message}")),
    )
}

/// A mirrored header value: plain visible ASCII, or the `=?base64?...?=` sentinel.
pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, Rendered> {
    let mut values = headers.get_all(name).iter();
    let Some(raw) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(header_mismatch(format!("{name} header is repeated")));
    }
    let text = raw
        .to_str()
        .map_err(|_| header_mismatch(format!("{name} header is not visible ASCII")))?;
    if let Some(b64) = text
        .strip_prefix("=?base64?")
        .and_then(|t| t.strip_suffix("?="))
    {
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| header_mismatch(format!("{name} header has invalid base64")))?;
        let s = String::from_utf8(bytes)
            .map_err(|_| header_mismatch(format!("{name} header is not UTF-8")))?;
        return Ok(Some(s));
    }
    Ok(Some(text.to_owned()))
}

/// The protocol version a modern request's `_meta` names, if any.
pub(crate) fn meta_version(params: &Map<String, Value>) -> Option<&Value> {
    params.get("_meta")?.get(META_PROTOCOL_VERSION)
}

/// The modern era's request checks, in the order the spec's errors are tested.
pub(crate) fn modern(
    headers: &HeaderMap,
    method: &McpMethod,
    params: &Map<String, Value>,
) -> Result<(), Rendered> {
    let invalid =
        |m: &'static str| Rendered::new(StatusCode::BAD_REQUEST, ErrorObject::invalid_params(m));
    let Some(version) = meta_version(params) else {
        return Err(invalid(
            "Invalid params: missing _meta.io.modelcontextprotocol/protocolVersion",
        ));
    };
    let Some(version) = version.as_str() else {
        return Err(invalid("Invalid params: protocolVersion must be a string"));
    };
    match header_text(headers, MCP_PROTOCOL_VERSION)? {
        None => {
            return Err(header_mismatch(
                "missing MCP-Protocol-Version header".into(),
            ));
        }
        Some(h) if h != version => {
            return Err(header_mismatch(format!(
                "MCP-Protocol-Version header value '{h}' does not match body value '{version}'"
            )));
        }
        Some(_) => {}
    }
    if Era::of_version(version) != Some(Era::Modern) {
        return Err(Rendered::new(
            StatusCode::BAD_REQUEST,
            ErrorObject::new(CODE_UNSUPPORTED_VERSION, "Unsupported protocol version")
                .with_data(json!({"supported": [MODERN_VERSION], "requested": version})),
        ));
    }
    let caps = params
        .get("_meta")
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES));
    if !caps.is_some_and(Value::is_object) {
        return Err(invalid(
            "Invalid params: missing _meta.io.modelcontextprotocol/clientCapabilities",
        ));
    }
    match header_text(headers, MCP_METHOD)? {
        None => return Err(header_mismatch("missing Mcp-Method header".into())),
        Some(h) if h != method.as_str() => {
            return Err(header_mismatch(format!(
                "Mcp-Method header value '{h}' does not match body value '{method}'"
            )));
        }
        Some(_) => {}
    }
    let Some(key) = method.name_header_key() else {
        return Ok(());
    };
    let body = params.get(key).and_then(Value::as_str);
    match (header_text(headers, MCP_NAME)?, body) {
        (None, _) => Err(header_mismatch("missing Mcp-Name header".into())),
        (Some(h), Some(b)) if h == b => Ok(()),
        (Some(h), b) => Err(header_mismatch(format!(
            "Mcp-Name header value '{h}' does not match body value '{}'",
            b.unwrap_or("")
        ))),
    }
}
