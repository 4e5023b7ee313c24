//! Rewriting an agent card so that every interface points at the gateway, and serving it with
//! the caching headers clients revalidate with.

use std::time::{Duration, SystemTime};

use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::CardVersions;
use super::render::json_response;
use crate::body::{A2aBody, full};

/// The members of a 1.0 `AgentCard` (a2a.proto, in ProtoJSON's camelCase); the 1.0 JSON schema
/// allows no other.
const V1_CARD: [&str; 14] = [
    "name",
    "description",
    "supportedInterfaces",
    "provider",
    "version",
    "documentationUrl",
    "capabilities",
    "securitySchemes",
    "securityRequirements",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
    "signatures",
    "iconUrl",
];
/// The members of a 1.0 `AgentCapabilities`.
const V1_CAPABILITIES: [&str; 4] = [
    "streaming",
    "pushNotifications",
    "extensions",
    "extendedAgentCard",
];
/// The members of a 1.0 `AgentSkill`.
const V1_SKILL: [&str; 8] = [
    "id",
    "name",
    "description",
    "tags",
    "examples",
    "inputModes",
    "outputModes",
    "securityRequirements",
];
/// The members of a 1.0 `AgentProvider`.
const V1_PROVIDER: [&str; 2] = ["url", "organization"];
/// The members of a 1.0 `AgentExtension`.
const V1_EXTENSION: [&str; 4] = ["uri", "description", "required", "params"];

/// Keeps only the `allowed` members of `value`, if it is an object.
fn keep(value: Option<&mut Value>, allowed: &[&str]) {
    if let Some(Value::Object(obj)) = value {
        obj.retain(|k, _| allowed.contains(&k.as_str()));
    }
}

/// Brings a card to the 1.0 shape only: the 0.3 extended-card flag becomes the 1.0
/// capability, and every member the 1.0 schema does not define is dropped.
fn strict_v1(obj: &mut serde_json::Map<String, Value>) {
    if obj.get("supportsAuthenticatedExtendedCard") == Some(&Value::Bool(true))
        && let Some(Value::Object(caps)) = obj.get_mut("capabilities")
    {
        caps.entry("extendedAgentCard").or_insert(Value::Bool(true));
    }
    obj.retain(|k, _| V1_CARD.contains(&k.as_str()));
    keep(obj.get_mut("capabilities"), &V1_CAPABILITIES);
    keep(obj.get_mut("provider"), &V1_PROVIDER);
    let each = |list: Option<&mut Value>, allowed: &[&str]| {
        if let Some(Value::Array(items)) = list {
            for item in items {
                keep(Some(item), allowed);
            }
        }
    };
    each(obj.get_mut("skills"), &V1_SKILL);
    each(
        obj.get_mut("capabilities")
            .and_then(|c| c.get_mut("extensions")),
        &V1_EXTENSION,
    );
}

/// Rewrites the interfaces of `card` to `url`, the gateway's endpoint for the agent: the 1.0
/// `supportedInterfaces` (JSON-RPC then HTTP+JSON, for 1.0 and 0.3) and the 0.3 `url`,
/// `preferredTransport` and `additionalInterfaces`. Signatures are dropped: they no longer
/// match the rewritten card. The security fields become `security` (schemes, requirements),
/// or are removed. With [`CardVersions::V1Only`] only the 1.0 interfaces are listed and only
/// the members of a 1.0 card are kept.
pub(crate) fn rewrite(
    card: &mut Value,
    url: &str,
    security: Option<&(Value, Value)>,
    versions: CardVersions,
) {
    let Some(obj) = card.as_object_mut() else {
        return;
    };
    for key in ["securitySchemes", "securityRequirements", "security"] {
        obj.remove(key);
    }
    if let Some((schemes, requirements)) = security {
        obj.insert("securitySchemes".into(), schemes.clone());
        obj.insert("securityRequirements".into(), requirements.clone());
    }
    let iface = |binding: &str, version: &str| json!({"url": url, "protocolBinding": binding, "protocolVersion": version});
    obj.remove("signatures");
    if versions == CardVersions::V1Only {
        obj.insert(
            "supportedInterfaces".into(),
            json!([iface("JSONRPC", "1.0"), iface("HTTP+JSON", "1.0")]),
        );
        strict_v1(obj);
        return;
    }
    obj.insert(
        "supportedInterfaces".into(),
        json!([
            iface("JSONRPC", "1.0"),
            iface("HTTP+JSON", "1.0"),
            iface("JSONRPC", "0.3"),
            iface("HTTP+JSON", "0.3")
        ]),
    );
    obj.insert("url".into(), url.into());
    obj.insert("preferredTransport".into(), "JSONRPC".into());
    obj.insert("protocolVersion".into(), "0.3.0".into());
    obj.insert(
        "additionalInterfaces".into(),
        json!([{"url": url, "transport": "JSONRPC"}, {"url": url, "transport": "HTTP+JSON"}]),
    );
}

/// Serves a rewritten card with `Cache-Control`, a strong `ETag` over its bytes and
/// `Last-Modified`, answering 304 when the client's `If-None-Match` matches.
pub(crate) fn serve(
    card: &Value,
    fetched: SystemTime,
    max_age: Duration,
    request: &HeaderMap,
) -> Response<A2aBody> {
    let bytes = card.to_string();
    let digest = Sha256::digest(bytes.as_bytes());
    let tag: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{tag}\"");
    let matches = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*")
        });
    let mut res = if matches {
        let mut r = Response::new(full(""));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, card)
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", max_age.as_secs())) {
        h.insert(CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(fetched)) {
        h.insert(LAST_MODIFIED, v);
    }
    res
}
