//! `Mcp-Param-*` headers: tool arguments mirrored into HTTP headers, declared by a tool's
//! `inputSchema` properties with `"x-mcp-header": "Name"`.
//!
//! The federation learns each tool's declarations from the listings it relays. On a modern
//! call to a tool it knows, it checks
//! the client's headers against the arguments (400 with -32020 on a mismatch, as the upstream
//! would) and sends the upstream headers computed from the arguments, so that a legacy client
//! in front of a modern upstream gets them too. A client's `Mcp-Param-*` headers the schema
//! does not declare are forwarded untouched.

use std::collections::HashMap;
use std::sync::Mutex;

use agent_gateway_core::BoxError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::member::Member;
use crate::McpError;
use crate::connector::mirrored;

/// The prefix of mirrored argument headers.
pub(crate) const PREFIX: &str = "mcp-param-";

/// The most tools whose declarations are remembered, across all upstreams.
const MAX_TOOLS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Boolean,
}

/// One declared header: `Mcp-Param-{header}` mirrors argument `property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    header: String,
    property: String,
    kind: Kind,
}

fn token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A tool's declared headers, or `Err` when a declaration is invalid (empty, not a token,
/// duplicated, or on a property that is not a string, integer or boolean): such a tool is
/// dropped from listings, as clients must drop it.
pub(crate) fn declarations(tool: &Value) -> Result<Vec<Param>, ()> {
    let Some(Value::Object(props)) = tool.get("inputSchema").and_then(|s| s.get("properties"))
    else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Param> = Vec::new();
    for (property, schema) in props {
        let Some(h) = schema.get("x-mcp-header") else {
            continue;
        };
        let header = h.as_str().filter(|h| token(h)).ok_or(())?;
        let kind = match schema.get("type").and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            _ => return Err(()),
        };
        if out.iter().any(|p| p.header.eq_ignore_ascii_case(header)) {
            return Err(());
        }
        out.push(Param {
            header: header.to_owned(),
            property: property.clone(),
            kind,
        });
    }
    Ok(out)
}

fn header_name(p: &Param) -> Option<HeaderName> {
    HeaderName::from_bytes(
        format!("{PREFIX}{}", p.header)
            .to_ascii_lowercase()
            .as_bytes(),
    )
    .ok()
}

/// The header value mirroring `value`, or `None` when absent or null.
fn encode(value: &Value) -> Option<HeaderValue> {
    match value {
        Value::String(s) => mirrored(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => HeaderValue::from_str(&n.to_string()).ok(),
        Value::Bool(b) => Some(HeaderValue::from_static(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn mismatch(what: String) -> BoxError {
    Box::new(McpError::HeaderMismatch(what))
}

/// The text of a header value, decoding the base64 sentinel.
fn decoded(raw: &HeaderValue, name: &str) -> Result<String, BoxError> {
    let text = raw
        .to_str()
        .map_err(|_| mismatch(format!("{name} is not visible ASCII")))?
        .trim();
    match text
        .strip_prefix("=?base64?")
        .and_then(|t| t.strip_suffix("?="))
    {
        Some(b64) => {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| mismatch(format!("{name} has invalid base64")))?;
            String::from_utf8(bytes).map_err(|_| mismatch(format!("{name} is not UTF-8")))
        }
        None => Ok(text.to_owned()),
    }
}

/// Checks the client's headers against the arguments: each declared header must be present
/// exactly when its argument is, and say the same.
pub(crate) fn check(
    headers: &HeaderMap,
    declared: &[Param],
    args: &Map<String, Value>,
) -> Result<(), BoxError> {
    for p in declared {
        let Some(name) = header_name(p) else { continue };
        let mut values = headers.get_all(&name).iter();
        let (first, repeated) = (values.next(), values.next().is_some());
        let arg = args.get(&p.property).filter(|v| !v.is_null());
        let shown = format!("Mcp-Param-{}", p.header);
        match (first, arg) {
            (None, None) => {}
            (None, Some(_)) => return Err(mismatch(format!("missing {shown} header"))),
            (Some(_), None) => return Err(mismatch(format!("{shown} without its argument"))),
            (Some(_), Some(_)) if repeated => {
                return Err(mismatch(format!("{shown} header is repeated")));
            }
            (Some(raw), Some(arg)) => {
                let text = decoded(raw, &shown)?;
                let same = match (p.kind, arg) {
                    (Kind::String, Value::String(s)) => text == *s,
                    (Kind::Integer, Value::Number(n)) => text
                        .parse::<i64>()
                        .ok()
                        .zip(n.as_i64())
                        .is_some_and(|(a, b)| a == b),
                    (Kind::Boolean, Value::Bool(b)) => text == if *b { "true" } else { "false" },
                    _ => false,
                };
                if !same {
                    return Err(mismatch(format!("{shown} does not match its argument")));
                }
            }
        }
    }
    Ok(())
}

/// The headers for the upstream: computed from the arguments for the declared ones, and the
/// client's undeclared `Mcp-Param-*` headers as they came.
pub(crate) fn upstream_headers(
    client: &HeaderMap,
    declared: &[Param],
    args: &Map<String, Value>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for p in declared {
        let Some(name) = header_name(p) else { continue };
        if let Some(v) = args.get(&p.property).and_then(encode) {
            out.push((name.clone(), v));
        }
        names.push(name);
    }
    for (name, value) in client {
        if name.as_str().starts_with(PREFIX) && !names.contains(name) {
            out.push((name.clone(), value.clone()));
        }
    }
    out
}

/// What the federation knows of each upstream's declarations, by server, then tool name.
#[derive(Debug, Default)]
pub(crate) struct Declarations(Mutex<HashMap<String, HashMap<String, Vec<Param>>>>);

impl Declarations {
    /// Remembers `tool`'s declarations for `server`.
    pub(crate) fn learn(&self, server: &str, tool: &str, params: Vec<Param>) {
        if let Ok(mut m) = self.0.lock() {
            if m.values().map(HashMap::len).sum::<usize>() >= MAX_TOOLS {
                m.clear();
            }
            m.entry(server.to_owned())
                .or_default()
                .insert(tool.to_owned(), params);
        }
    }

    fn get(&self, server: &str, tool: &str) -> Option<Vec<Param>> {
        let m = self.0.lock().ok()?;
        m.get(server)?.get(tool).cloned()
    }

    /// `tool`'s declarations on `member`, as the last listing relayed through this
    /// federation showed them; a tool not listed yet declares nothing (a modern client's
    /// headers then travel untouched, for the upstream to check).
    pub(crate) fn of(&self, member: &Member, tool: &str) -> Vec<Param> {
        self.get(member.name.as_str(), tool).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool() -> Value {
        json!({"name": "t", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"},
            "note": {"type": "string"}}}})
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn declarations_are_read_and_invalid_ones_refused() {
        let d = declarations(&tool()).unwrap();
        assert_eq!(d.len(), 3);
        for bad in [
            json!({"a": {"type": "string", "x-mcp-header": ""}}),
            json!({"a": {"type": "string", "x-mcp-header": "has space"}}),
            json!({"a": {"type": "number", "x-mcp-header": "A"}}),
            json!({"a": {"type": "object", "x-mcp-header": "A"}}),
            json!({"a": {"type": "string", "x-mcp-header": "A"}, "b": {"type": "string", "x-mcp-header": "a"}}),
            json!({"a": {"type": "string", "x-mcp-header": 7}}),
        ] {
            let t = json!({"inputSchema": {"properties": bad}});
            assert!(declarations(&t).is_err(), "{t}");
        }
    }

    #[test]
    fn headers_are_checked_against_the_arguments() {
        let d = declarations(&tool()).unwrap();
        let a = args(json!({"region": "Hello", "priority": 5, "dry": true}));
        let ok = [
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "=?base64?SGVsbG8=?="),
                ("mcp-param-priority", "05"),
                ("mcp-param-dry-run", "true"),
            ]),
        ];
        for h in ok {
            assert!(check(&h, &d, &a).is_ok(), "{h:?}");
        }
        let bad = [
            headers(&[("mcp-param-priority", "5"), ("mcp-param-dry-run", "true")]),
            headers(&[
                ("mcp-param-region", "=?base64?SGVsbG8?="),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "=?base64?SGV*bG8=?="),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Other"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "6"),
                ("mcp-param-dry-run", "true"),
            ]),
            headers(&[
                ("mcp-param-region", "Hello"),
                ("mcp-param-region", "Hello"),
                ("mcp-param-priority", "5"),
                ("mcp-param-dry-run", "true"),
            ]),
        ];
        for h in bad {
            let e = check(&h, &d, &a).unwrap_err();
            assert!(
                matches!(
                    e.downcast_ref::<McpError>(),
                    Some(McpError::HeaderMismatch(_))
                ),
                "{h:?}"
            );
        }
        // A header for an argument that is absent is a mismatch too.
        let h = headers(&[("mcp-param-region", "x")]);
        assert!(check(&h, &d, &args(json!({}))).is_err());
    }

    #[test]
    fn upstream_headers_are_computed_and_unknown_ones_kept() {
        let d = declarations(&tool()).unwrap();
        let a = args(json!({"region": "héllo", "priority": 3, "dry": false}));
        let client = headers(&[
            ("mcp-param-region", "forged"),
            ("mcp-param-extra", "keep"),
            ("authorization", "Bearer x"),
        ]);
        let out = upstream_headers(&client, &d, &a);
        let get = |n: &str| {
            out.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            get("mcp-param-region").as_deref(),
            Some("=?base64?aMOpbGxv?=")
        );
        assert_eq!(get("mcp-param-priority").as_deref(), Some("3"));
        assert_eq!(get("mcp-param-dry-run").as_deref(), Some("false"));
        assert_eq!(get("mcp-param-extra").as_deref(), Some("keep"));
        assert_eq!(get("authorization"), None, "never anything but Mcp-Param-*");
        assert_eq!(out.len(), 4);
    }
}
