//! Rewriting an agent card so that every interface points at the gateway, and serving it with
//! the caching headers clients revalidate with.

use std::time::{Duration, SystemTime};

use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::render::json_response;
use crate::body::{A2aBody, full};

/// Rewrites the interfaces of `card` to `url`, the gateway's endpoint for the agent: the 1.0
/// `supportedInterfaces` (JSON-RPC then HTTP+JSON, for 1.0 and 0.3) and the 0.3 `url`,
/// `preferredTransport` and `additionalInterfaces`. Signatures are dropped: they no longer
/// match the rewritten card. The security fields become `security` (schemes, requirements),
/// or are removed.
pub(crate) fn rewrite(card: &mut Value, url: &str, security: Option<&(Value, Value)>) {
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
    obj.remove("signatures");
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
